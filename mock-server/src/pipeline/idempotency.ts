// Step 6: idempotency of POSTs (contract 6). Runs after the body is parsed: the stored answer is
// bound to the key and the body's hash.
import { ApiError, MESSAGES } from '../errors.ts'
import type { AuthContext, RequestState, RouteAccess } from '../types.ts'
import { bodyHash, IDEMPOTENCY_KEY_RE, type BeginResult, type IdempotencyStore, type StoredResponse } from '../domain/idempotency-store.ts'
import type { SharedIdempotencyStore } from '../domain/shared/index.ts'

const badIdempotencyKey = new ApiError('validation_error', 'X-Idempotency-Key must be 1-255 printable ASCII characters.', [{ field: 'X-Idempotency-Key', message: 'must be 1-255 printable characters' }])
const idempotencyInProgress = new ApiError('idempotency_in_progress', MESSAGES.idempotency_in_progress, [{ field: 'X-Idempotency-Key', message: 'in progress' }])
const idempotencyReused = new ApiError('idempotency_key_reused', MESSAGES.idempotency_key_reused, [{ field: 'X-Idempotency-Key', message: 'used with a different body' }])

export type IdempotencyStart =
  /** Not an authenticated POST: idempotency does not apply. */
  | { kind: 'skip' }
  /** A POST without a key: it runs, and the record marks it (6.2). */
  | { kind: 'missing' }
  | { kind: 'new', key: string }
  | { kind: 'replay', key: string, response: StoredResponse }
  | { kind: 'refused', key: string | undefined, error: ApiError }

/**
 * Contract 6.1: the first POST with a key runs and its answer is stored; the same key and body
 * replays it; another body is 422; a duplicate while the first still runs is 409.
 */
export function beginIdempotency (store: IdempotencyStore, method: string, auth: AuthContext | undefined, access: RouteAccess, header: unknown, body: unknown): IdempotencyStart {
  if (method !== 'POST' || auth === undefined || access.control === true) return { kind: 'skip' }
  if (header === undefined) return { kind: 'missing' }
  if (typeof header !== 'string' || !IDEMPOTENCY_KEY_RE.test(header)) return { kind: 'refused', key: undefined, error: badIdempotencyKey }
  return started(store.begin(auth.tenantId, header, bodyHash(body)), header)
}

/**
 * The same rules with the records in Redis (instances that share state): a duplicate on any instance
 * is refused or replayed. `hash` receives the body hash, which complete() stores with the answer.
 */
export async function beginSharedIdempotency (store: SharedIdempotencyStore, method: string, auth: AuthContext | undefined, access: RouteAccess, header: unknown, body: unknown, hash: (h: string) => void): Promise<IdempotencyStart> {
  if (method !== 'POST' || auth === undefined || access.control === true) return { kind: 'skip' }
  if (header === undefined) return { kind: 'missing' }
  if (typeof header !== 'string' || !IDEMPOTENCY_KEY_RE.test(header)) return { kind: 'refused', key: undefined, error: badIdempotencyKey }
  const h = bodyHash(body)
  hash(h)
  return started(await store.begin(auth.tenantId, header, h), header)
}

function started (r: BeginResult, header: string): IdempotencyStart {
  switch (r.kind) {
    case 'new': return { kind: 'new', key: header }
    case 'replay': return { kind: 'replay', key: header, response: r.response }
    case 'in_progress': return { kind: 'refused', key: header, error: idempotencyInProgress }
    case 'mismatch': return { kind: 'refused', key: header, error: idempotencyReused }
  }
}

/** Write the start of the idempotency flow onto the request state (the record reads it, 7.3). */
export function applyIdempotency (state: RequestState, r: IdempotencyStart): void {
  switch (r.kind) {
    case 'skip': return
    case 'missing': state.idempotency = 'missing'; return
    case 'new': state.idempotencyKey = r.key; state.idempotency = 'new'; return
    case 'replay': state.idempotencyKey = r.key; state.idempotency = 'replayed'; state.replayed = true; return
    case 'refused':
      state.idempotencyKey = r.key
      if (r.error === idempotencyInProgress) state.idempotency = 'in_progress'
      else if (r.error === idempotencyReused) state.idempotency = 'mismatch'
  }
}

/**
 * After the first request with a key answered: store its answer, or forget the key when the answer
 * must not be replayed (a 5xx, or a body that is not text). Call only while state.idempotency is 'new'.
 */
export function finishIdempotency (store: IdempotencyStore, state: RequestState, statusCode: number, payload: unknown, contentType: string | undefined): void {
  const auth = state.auth
  const key = state.idempotencyKey
  if (state.idempotency !== 'new' || auth === undefined || key === undefined) return
  state.idempotency = 'stored'
  if (statusCode >= 500 || typeof payload !== 'string') store.abandon(auth.tenantId, key)
  else store.complete(auth.tenantId, key, { statusCode, payload, contentType: contentType ?? 'application/json; charset=utf-8' })
}

/** finishIdempotency with the records in Redis; resolves once the answer (or the forgetting) is stored. */
export async function finishSharedIdempotency (store: SharedIdempotencyStore, state: RequestState, hash: string, statusCode: number, payload: unknown, contentType: string | undefined): Promise<void> {
  const auth = state.auth
  const key = state.idempotencyKey
  if (state.idempotency !== 'new' || auth === undefined || key === undefined) return
  state.idempotency = 'stored'
  if (statusCode >= 500 || typeof payload !== 'string') await store.abandon(auth.tenantId, key)
  else await store.complete(auth.tenantId, key, hash, { statusCode, payload, contentType: contentType ?? 'application/json; charset=utf-8' })
}
