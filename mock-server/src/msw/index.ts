// `tenzro-harness/msw`: the Tenzro mock as msw request handlers (contract: docs/api.md).
export { createTenzroHandlers, DEFAULT_BASE_URL, type TenzroHandlers, type TenzroHandlersOptions, type CreatedKey } from './handlers.ts'
export { StreamBody } from './stream-body.ts'
