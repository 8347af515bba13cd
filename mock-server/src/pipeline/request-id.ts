// Step 1 of every request: its id and the common headers of contract 1.2 and 1.3, and the fresh
// per-request state the later steps fill in and the record entry is built from (7.3).
import { randomBytes } from 'node:crypto'
import { ApiError } from '../errors.ts'
import type { RequestState } from '../types.ts'
import { containsKnownSecret } from '../domain/secret-windows.ts'

/** Request headers as Node gives them: lower-case names (Fetch `Headers` turned into an object fits too). */
export type HeaderBag = Record<string, string | string[] | undefined>

export const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/
// A key fits REQUEST_ID_RE; echoing it would put the secret in every log line and answer (1.5).
const KEYISH_ID_RE = /tnz_/i
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

const LOW_DIGITS: readonly string[] = Array.from({ length: 1024 }, (_, i) => i.toString(32).toUpperCase().padStart(2, '0'))

/**
 * `req_` + 26 chars (contract 1.2): 10 random chars per generator, then a 16-char base-32 counter.
 * The counter's last two digits come from a table and the rest changes once per 1024 ids, so an id
 * costs one concatenation.
 */
export function createRequestIdGenerator (): () => string {
  let prefix = 'req_'
  for (const b of randomBytes(10)) prefix += CROCKFORD[b & 31]
  let n = 0
  let head = ''
  return () => {
    n++
    const low = n & 1023
    if (low === 0 || head === '') head = prefix + Math.floor(n / 1024).toString(32).toUpperCase().padStart(14, '0')
    return head + LOW_DIGITS[low]!
  }
}

/**
 * The client's X-Request-Id when it is 1-128 allowed chars, not key-shaped and holds no 12-char run of
 * a live secret, else a fresh one: the id is echoed in a header, every answer and every log line.
 */
export function requestIdFor (header: unknown, next: () => string): string {
  return typeof header === 'string' && REQUEST_ID_RE.test(header) && !KEYISH_ID_RE.test(header) && !containsKnownSecret(header) ? header : next()
}

const NETWORKS = new Set(['devnet', 'testnet', 'mainnet'])
const unsupportedVersion = new ApiError('unsupported_api_version', 'X-API-Version must be 1 (or absent).', [{ field: 'X-API-Version', message: 'must be 1' }])
const badNetwork = new ApiError('validation_error', 'X-Network must be devnet, testnet or mainnet.', [{ field: 'X-Network', message: 'must be devnet, testnet or mainnet' }])

/** X-API-Version and X-Network (1.2): the refusal, or undefined when both are acceptable. */
export function checkCommonHeaders (headers: HeaderBag): ApiError | undefined {
  const version = headers['x-api-version']
  if (version !== undefined && version !== '1') return unsupportedVersion
  const network = headers['x-network']
  if (network !== undefined && (typeof network !== 'string' || !NETWORKS.has(network))) return badNetwork
  return undefined
}

const NO_CONFIG: RequestState['config'] = Object.freeze({})

/** A fresh per-request state (the record entry is built from it, 7.3). */
export function newRequestState (): RequestState {
  return {
    startNs: process.hrtime.bigint(),
    config: NO_CONFIG,
    route: undefined,
    auth: undefined,
    authOutcome: undefined,
    authCode: undefined,
    keyRef: undefined,
    rateLimit: undefined,
    faults: undefined,
    idempotencyKey: undefined,
    replayed: false,
    errorCode: undefined,
    traceId: undefined
  }
}
