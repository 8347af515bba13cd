// The mock's request path, framework-free, one file per step. The Fastify app runs these steps as
// hooks and routes (plugins/, routes/), the msw handlers call them in a loop (msw/handlers.ts); both
// in this order, so the two mocks cannot drift apart:
//
//   1. request-id.ts    request id, X-API-Version and X-Network (contract 1.2, 1.3), fresh request state
//   2. auth.ts          key, tenant and scope (2)
//   3. rest-faults.ts   the REST fault decision (7.2)
//   4. rate-limit.ts    the key's and tenant's limit, X-RateLimit-* and Retry-After (5)
//   5. body.ts          the JSON body (1.4)
//   6. idempotency.ts   replay, refusal or a fresh run of a POST (6)
//   7. (fault latency and injected errors, then the route:)
//        wallets.ts       wallet list and creation (3)
//        key-admin.ts     key administration (2.6)
//        event-stream.ts  opening an event stream (4), planned by domain/stream-plan.ts, written by sse/
//   8. envelopes.ts     the success or error envelope (1.4, 1.5)
//   9. record-entry.ts  one record entry per request (7.3), with secrets.ts deciding what could be a key
//
// Every refusal that carries no per-request data is built once at load (house style principle 2).
export { checkCommonHeaders, createRequestIdGenerator, newRequestState, REQUEST_ID_RE, requestIdFor, type HeaderBag } from './request-id.ts'
export { applyAuth, authenticate, presentedKey, type AuthResult } from './auth.ts'
export { faultError, restFaultsFor } from './rest-faults.ts'
export { createRateLimit, type HeaderSink, type RateLimit, type RateLimitOptions, type RouteLimiter } from './rate-limit.ts'
export { BODY_ERRORS, parseBody } from './body.ts'
export { applyIdempotency, beginIdempotency, beginSharedIdempotency, finishIdempotency, finishSharedIdempotency, type IdempotencyStart } from './idempotency.ts'
export { createWallet, walletListPayload } from './wallets.ts'
export { keyAdmin } from './key-admin.ts'
export { createEventStreams, parseStreamRequest, SSE_HEADERS, type EventStreams, type EventStreamsOptions, type StreamPlan, type StreamRequest, type StreamSlotsLike } from './event-stream.ts'
export { asApiError, dataEnvelope, errorEnvelope, isoTime, notFoundError } from './envelopes.ts'
export { requestEntry, type RequestFacts } from './record-entry.ts'
export { looksSecret, recordedSubjects } from './secrets.ts'
export { createMethodTable, NOT_IMPLEMENTED } from './methods.ts'
