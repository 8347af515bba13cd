// The limiter's contract with the rest of the mock (contract 5). Implementations live beside this file.

export type Algorithm = 'fixed-window' | 'sliding-window' | 'token-bucket'

export interface LimitPolicy {
  algorithm: Algorithm
  /** Requests admitted per window (for the token bucket: burst size; refill = limit per windowMs). */
  limit: number
  windowMs: number
}

export interface LimitDecision {
  allowed: boolean
  limit: number
  /** Requests still admitted in the current window after this one (>= 0). */
  remaining: number
  /** Epoch ms at which the window resets (X-RateLimit-Reset is this, rounded up to whole seconds). */
  resetAtMs: number
  /** Whole seconds, >= 1 when refused and honest (waiting that long is admitted); 0 when allowed. */
  retryAfterS: number
}
