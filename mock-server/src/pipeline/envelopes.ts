// The answer's envelope (contract 1.4, 1.5), for successes and errors alike, and the rule that
// nothing internal reaches the client.
import { ApiError, MESSAGES } from '../errors.ts'
import { redactSecrets } from '../domain/secret-windows.ts'

export const notFoundError = new ApiError('not_found', MESSAGES.not_found, [])
const internal = new ApiError('internal_error', MESSAGES.internal_error)

/** Any thrown value as an ApiError: nothing internal (stack, path, raw message) reaches the client. */
export function asApiError (err: unknown): ApiError {
  return err instanceof ApiError ? err : internal
}

const MILLIS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0') + 'Z')
let isoSecond = Number.NaN
let isoPrefix = ''

/**
 * An epoch-ms time as Date#toISOString writes it (meta.timestamp, 1.4). The text up to the seconds
 * is made once per second, so a timestamp costs one concatenation: every answer carries one.
 */
export function isoTime (ms: number): string {
  const t = Math.trunc(ms)
  const second = Math.floor(t / 1000)
  if (second !== isoSecond) {
    const iso = new Date(t).toISOString()
    isoPrefix = iso.slice(0, -4)
    isoSecond = second
  }
  return isoPrefix + MILLIS[t - second * 1000]!
}

// Errors whose text was found clean: the prebuilt ones (most refusals, every 429) are checked once.
const clean = new WeakSet<ApiError>()

/**
 * The error envelope of contract 1.5, fields in the order the Fastify response schema writes them.
 * A message or detail that echoes the request (an unknown field's name, a bad subject) has any key,
 * or any 12-char run of a live secret, replaced by [REDACTED] (1.5: no error body holds a secret).
 */
export function errorEnvelope (requestId: string, err: ApiError, nowMs: number) {
  let message = err.message
  let details = err.details.map((d) => ({ field: d.field, message: d.message }))
  if (!clean.has(err)) {
    message = redactSecrets(message)
    details = details.map((d) => ({ field: redactSecrets(d.field), message: redactSecrets(d.message) }))
    if (message === err.message && details.every((d, i) => d.field === err.details[i]!.field && d.message === err.details[i]!.message)) clean.add(err)
  }
  return {
    error: { code: err.code, message, details },
    meta: { requestId, timestamp: isoTime(nowMs) }
  }
}

/** The success envelope of contract 1.4. */
export function dataEnvelope (requestId: string, data: unknown, nowMs: number) {
  return { data, meta: { requestId, timestamp: isoTime(nowMs) } }
}
