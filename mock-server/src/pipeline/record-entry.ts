// The last step of every request: its record entry (contract 7.3), built from the request state only:
// key ids, never secrets.
import type { RequestState } from '../types.ts'
import type { HeaderBag } from './request-id.ts'
import { containsKnownSecret, looksSecret, REDACTED } from './secrets.ts'
import { NETWORKS } from '../domain/key-store.ts'

const NETWORK_NAMES: ReadonlySet<string> = new Set(NETWORKS)
const KEYISH = /tnz(?:_|%5f)/i
const KEYISH_SEGMENT = /tnz(?:_|%5f)[^/]*/gi

export interface RequestFacts {
  requestId: string
  /** The X-Request-Id the client sent, if any. */
  sentRequestId: unknown
  method: string
  /** The route pattern, or null for an unknown route. */
  route: string | null
  /** Path and query as sent. */
  url: string
  statusCode: number
  ip: string | undefined
  body: unknown
  /** Retry-After sent with the answer, if any. */
  retryAfter: unknown
  headers: HeaderBag
  /** Test switch: the leak the canary test must catch (config.unsafeDisableRedaction). */
  unsafe: boolean
}

/** One request's record entry, built from the request state only: key ids, never secrets. */
export function requestEntry (f: RequestFacts, s: RequestState): Record<string, unknown> {
  const url = f.url
  const q = url.indexOf('?')
  let path = q === -1 ? url : url.slice(0, q)
  // A key pasted where an id belongs (DELETE /api/keys/<key>), or a piece of a live secret in any
  // segment, is a secret too: redact the segment, flag it.
  const keyInPath = KEYISH.test(path) || containsKnownSecret(path)
  if (keyInPath) path = path.replace(KEYISH_SEGMENT, REDACTED).split('/').map((seg) => (containsKnownSecret(seg) ? REDACTED : seg)).join('/')
  const idem = s.idempotencyKey
  const rl = s.rateLimit
  const entry: Record<string, unknown> = {
    requestId: f.requestId,
    clientRequestId: f.sentRequestId === f.requestId,
    method: f.method,
    route: f.route,
    path,
    status: f.statusCode,
    durationMs: Math.round(Number(process.hrtime.bigint() - s.startNs) / 1e4) / 100,
    ip: f.ip ?? null,
    // X-Network (contract 1.2), null when absent (devnet): the environment checks read it. Only a known
    // network is recorded as sent: any other value is 'invalid', never echoed (it may be a pasted key).
    network: typeof f.headers['x-network'] === 'string' ? (NETWORK_NAMES.has(f.headers['x-network']) ? f.headers['x-network'] : 'invalid') : null,
    tenant: s.auth?.tenantId ?? s.authTenant ?? null,
    keyId: s.auth?.keyId ?? s.keyRef ?? null,
    auth: s.authOutcome ?? null,
    code: s.errorCode ?? s.authCode ?? null,
    rateLimit: rl === undefined ? null : { allowed: rl.allowed, limit: rl.limit, remaining: rl.remaining, resetAtMs: rl.resetAtMs, retryAfterS: rl.retryAfterS },
    // The client's own string: it may be (part of) its key (1.5).
    idempotencyKey: idem === undefined ? null : looksSecret(idem) ? REDACTED : idem,
    idempotency: s.idempotency ?? null,
    faults: s.faults === undefined || s.faults.labels.length === 0 ? null : s.faults.labels,
    lostResponse: s.lost === true,
    retryAfterS: f.retryAfter === undefined || f.retryAfter === null ? null : Number(f.retryAfter),
    traceId: s.traceId ?? null
  }
  if (keyInPath || (q !== -1 && (KEYISH.test(url.slice(q)) || containsKnownSecret(url.slice(q))))) entry.secretInUrl = true
  if (f.method === 'POST' && f.body !== undefined && f.body !== null) {
    const text = typeof f.body === 'string' ? f.body : JSON.stringify(f.body)
    if (KEYISH.test(text) || containsKnownSecret(text)) entry.secretInBody = true
  }
  if (f.unsafe) {
    entry.headers = f.headers
    entry.url = url
    entry.body = f.body
  }
  return entry
}
