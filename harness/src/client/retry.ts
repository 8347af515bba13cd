// When and how long to wait before trying again (house style, "Module shapes": retry only what is
// safe, honour Retry-After, otherwise capped exponential backoff with full jitter, stop at a deadline).
// Pure functions over numbers: the caller owns the clock and the sleeping.

export interface RetryOptions {
  /** Attempts per logical request, the first included (default 5). */
  maxAttempts: number
  /** Backoff base: the n-th retry waits random() * min(capMs, baseMs * 2^n) (default 100). */
  baseMs: number
  /** Backoff cap (default 10 000). */
  capMs: number
  /** No attempt starts, and no wait is begun, past this long after the logical request began (default 60 000). */
  deadlineMs: number
  /** One attempt (connect, headers and body) may take at most this long (default 30 000). */
  attemptTimeoutMs: number
}

export const DEFAULT_RETRY: Readonly<RetryOptions> = Object.freeze({
  maxAttempts: 5,
  baseMs: 100,
  capMs: 10_000,
  deadlineMs: 60_000,
  attemptTimeoutMs: 30_000
})

export function resolveRetry (input: Partial<RetryOptions> | undefined): RetryOptions {
  const r = { ...DEFAULT_RETRY, ...input }
  const bad: string[] = []
  if (!Number.isInteger(r.maxAttempts) || r.maxAttempts < 1) bad.push('retry.maxAttempts must be an integer >= 1')
  if (!(r.baseMs >= 0)) bad.push('retry.baseMs must be >= 0')
  if (!(r.capMs >= r.baseMs)) bad.push('retry.capMs must be >= retry.baseMs')
  if (!(r.deadlineMs > 0)) bad.push('retry.deadlineMs must be > 0')
  if (!(r.attemptTimeoutMs > 0)) bad.push('retry.attemptTimeoutMs must be > 0')
  if (bad.length > 0) throw new RangeError(bad.join('; '))
  return r
}

const DIGITS = /^\s*(\d{1,10})\s*$/
const DAY_NAME = /^\s*(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)/

/**
 * Retry-After (RFC 9110 10.2.3): either delay-seconds or an HTTP-date. Returns milliseconds to wait
 * from `nowMs`, 0 for a date in the past, undefined when absent or unparseable.
 */
export function parseRetryAfter (value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined || value === '') return undefined
  const m = DIGITS.exec(value)
  if (m !== null) return Number(m[1]) * 1000
  // All three HTTP-date forms (IMF-fixdate, RFC 850, asctime) start with a day name; anything else
  // (a negative number, a bare year) is not a date even if Date.parse would take it.
  if (!DAY_NAME.test(value)) return undefined
  const at = Date.parse(value)
  if (Number.isNaN(at)) return undefined
  return at > nowMs ? at - nowMs : 0
}

/** Full jitter ("Exponential Backoff And Jitter", AWS architecture blog): uniform in [0, min(cap, base * 2^n)). */
export function backoffMs (retryIndex: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(retryIndex, 30))
  return Math.floor(random() * ceiling)
}

/**
 * Whether a failed attempt may be sent again. 429 was refused before any work (contract 5.3) and 409
 * idempotency_in_progress is transient (6.1), so both are retried whatever the method. 5xx and network
 * failures may have done the work, so only idempotent requests (GET, or POST with X-Idempotency-Key)
 * are retried. Every other 4xx is the caller's mistake: retrying cannot fix it.
 */
export function isRetryable (status: number, code: string, idempotent: boolean): boolean {
  if (status === 429) return true
  if (status === 409) return code === 'idempotency_in_progress'
  if (status === 0 || status === 500 || status === 502 || status === 503 || status === 504) return idempotent
  return false
}
