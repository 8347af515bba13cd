// The limiter's contract with the rest of the mock (contract 5). Implementations live beside this file:
// algorithms.ts (the three algorithms on one bucket), stores/memory.ts, stores/redis.ts, headers.ts,
// stream-slots.ts.

export type Algorithm = 'fixed-window' | 'sliding-window' | 'token-bucket'

export const ALGORITHMS: readonly Algorithm[] = ['fixed-window', 'sliding-window', 'token-bucket']

export interface LimitPolicy {
  algorithm: Algorithm
  /** Requests admitted per window (for the token bucket: burst size; refill = limit per windowMs). */
  limit: number
  windowMs: number
}

/** Which limiter a decision speaks for: the key's (per key, or per key and route) or the tenant's quota. */
export type LimitScope = 'key' | 'tenant'

/** What produced a decision: the limiter, a forced 429 burst (fault, contract 7.2), or an unreachable store. */
export type LimitSource = 'limiter' | 'burst-fault' | 'store-unavailable'

export interface LimitDecision {
  allowed: boolean
  limit: number
  /** Requests still admitted in the current window after this one (>= 0). */
  remaining: number
  /**
   * Epoch ms at which the quota next grows (X-RateLimit-Reset is this, rounded up to whole seconds):
   * the window's end for the fixed window, the oldest counted request's expiry for the sliding
   * window, the next whole token for the token bucket. Remaining never increases before it.
   */
  resetAtMs: number
  /** Whole seconds, >= 1 when refused and honest (waiting that long is admitted); 0 when allowed. */
  retryAfterS: number
  scope?: LimitScope
  algorithm?: Algorithm
  windowMs?: number
  source?: LimitSource
  /** Extra share admitted by an over-admit fault; the headers still claim `limit` (that is the bug). */
  overAdmitShare?: number
  /** The other limiter's view when a tenant quota applied too (the IETF headers list both). */
  other?: LimitDecision
}

/**
 * Where buckets live. `consume` checks the key's bucket and, when a tenant quota applies, the
 * tenant's bucket as one atomic step: a request is counted in both or in neither, so a refusal by
 * one never spends the other. The memory store answers synchronously (no promise on the hot path);
 * the Redis store answers with a promise and rejects with LimiterUnavailableError when unreachable.
 */
export interface LimiterStore {
  readonly kind: 'memory' | 'redis'
  consume (
    nowMs: number,
    keyBucket: string,
    keyPolicy: LimitPolicy,
    tenantBucket: string | undefined,
    tenantPolicy: LimitPolicy | undefined,
    overAdmitShare: number
  ): LimitDecision | Promise<LimitDecision>
  /** Forget every bucket (control API reset, contract 7.4). */
  reset (): void | Promise<void>
  close (): Promise<void>
}

/** The store cannot be reached (Redis down, command timed out): the mock answers 503, never admits blindly. */
export class LimiterUnavailableError extends Error {
  readonly code = 'limiter_unavailable'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LimiterUnavailableError'
  }
}

export function isLimiterStore (v: unknown): v is LimiterStore {
  if (typeof v !== 'object' || v === null) return false
  const s = v as Record<string, unknown>
  return (s.kind === 'memory' || s.kind === 'redis') && typeof s.consume === 'function' && typeof s.reset === 'function' && typeof s.close === 'function'
}
