// The three algorithms of contract 5.4 on one bucket, with the clock passed in (house style principle 3).
// stores/memory.ts runs these directly; stores/redis-script.ts is the same logic in Lua, and the
// property tests hold both to one reference model. Every quantity is an integer below 2^53, so the
// JavaScript and Lua versions compute bit-identical answers.
//
// - fixed window: windows aligned to multiples of windowMs since the epoch; a counter per window.
// - sliding window: an exact sliding log; a request at time e counts while now - e < windowMs.
// - token bucket: GCRA (the virtual-scheduling form of a token bucket). The theoretical arrival time
//   TAT is kept as whole ms `a` plus `b / limit` ms, so the emission interval windowMs / limit is
//   exact for any limit; burst = limit, refill = limit per windowMs.
//
// Refused requests never consume: that is what keeps Retry-After honest (waiting it is admitted).
import type { Algorithm, LimitDecision, LimitPolicy, LimitScope } from './types.ts'

export const FIXED = 1
export const SLIDING = 2
export const TOKEN = 3

export const ALGORITHM_CODE: Record<Algorithm, number> = { 'fixed-window': FIXED, 'sliding-window': SLIDING, 'token-bucket': TOKEN }

export interface Bucket {
  algo: number
  windowMs: number
  /** The (effective) limit the state was built for; the token bucket's fraction is in 1/limit ms. */
  limit: number
  /** Fixed window: window start. Token bucket: TAT, whole ms. */
  a: number
  /** Fixed window: count in the window. Token bucket: TAT fraction numerator, 0 <= b < limit. */
  b: number
  /** Sliding window: times of counted requests, ascending, from `head` on. */
  log: number[]
  head: number
}

export function newBucket (algo: number, windowMs: number, limit: number): Bucket {
  return { algo, windowMs, limit, a: 0, b: 0, log: algo === SLIDING ? [] : EMPTY, head: 0 }
}
const EMPTY: number[] = []

/** Does the bucket's state still describe this policy? A changed window or algorithm (or, for the token bucket, limit) starts afresh. */
export function bucketFits (b: Bucket, algo: number, windowMs: number, limit: number): boolean {
  return b.algo === algo && b.windowMs === windowMs && (algo !== TOKEN || b.limit === limit)
}

/** The limit an over-admit fault (contract 7.2) really enforces: limit * (1 + share). */
export function effectiveLimit (limit: number, share: number): number {
  return share > 0 ? Math.floor(limit * (1 + share) + 1e-9) : limit
}

/** Retry-After in whole seconds, at least 1, never earlier than the real wait (contract 5.3). */
export function retryAfterSeconds (waitMs: number): number {
  return waitMs <= 1000 ? 1 : Math.ceil(waitMs / 1000)
}

function trim (b: Bucket, nowMs: number): void {
  const log = b.log
  const edge = nowMs - b.windowMs
  let h = b.head
  while (h < log.length && log[h]! <= edge) h++
  if (h === log.length) {
    log.length = 0
    h = 0
  } else if (h > 64 && h * 2 > log.length) {
    log.splice(0, h)
    h = 0
  }
  b.head = h
}

/** Phase 1: would the bucket admit one more request at nowMs under `limit`? (Trims expired log entries.) */
export function bucketAdmits (b: Bucket, limit: number, nowMs: number): boolean {
  switch (b.algo) {
    case FIXED: {
      const start = nowMs - nowMs % b.windowMs
      return (b.a === start ? b.b : 0) < limit
    }
    case SLIDING:
      trim(b, nowMs)
      return b.log.length - b.head < limit
    default: {
      const w = b.windowMs
      let m = b.a
      let f = b.b
      if (m < nowMs || (m === nowMs && f === 0)) { m = nowMs; f = 0 }
      let nm = m + Math.floor(w / limit)
      let nf = f + w % limit
      if (nf >= limit) { nf -= limit; nm++ }
      return nm - nowMs < w || (nm - nowMs === w && nf === 0)
    }
  }
}

/** Phase 2: count one request (only after every bucket involved admitted it). */
export function bucketCommit (b: Bucket, limit: number, nowMs: number): void {
  switch (b.algo) {
    case FIXED: {
      const start = nowMs - nowMs % b.windowMs
      if (b.a === start) b.b++
      else { b.a = start; b.b = 1 }
      return
    }
    case SLIDING: {
      const log = b.log
      if (log.length === b.head || log[log.length - 1]! <= nowMs) log.push(nowMs)
      else {
        // A clock that stepped back: keep the log sorted so expiry stays in order.
        let i = log.length
        while (i > b.head && log[i - 1]! > nowMs) i--
        log.splice(i, 0, nowMs)
      }
      return
    }
    default: {
      const w = b.windowMs
      let m = b.a
      let f = b.b
      if (m < nowMs || (m === nowMs && f === 0)) { m = nowMs; f = 0 }
      m += Math.floor(w / limit)
      f += w % limit
      if (f >= limit) { f -= limit; m++ }
      b.a = m
      b.b = f
      b.limit = limit
    }
  }
}

/**
 * The bucket's headers after the decision: remaining (under the effective limit), when the quota next
 * grows, and for a refusal the wait until a request is admitted. Writes into `out`.
 */
export function bucketReport (b: Bucket, limit: number, nowMs: number, allowed: boolean, out: RawReport): void {
  const w = b.windowMs
  switch (b.algo) {
    case FIXED: {
      const start = nowMs - nowMs % w
      const count = b.a === start ? b.b : 0
      out.remaining = count < limit ? limit - count : 0
      out.resetAtMs = start + w
      out.waitMs = allowed ? 0 : start + w - nowMs
      return
    }
    case SLIDING: {
      const log = b.log
      const count = log.length - b.head
      out.remaining = count < limit ? limit - count : 0
      if (allowed) {
        out.resetAtMs = count === 0 ? nowMs : log[b.head]! + w
        out.waitMs = 0
      } else {
        // Admitted once the entry that brings the count below the limit has expired.
        const at = log[b.head + count - limit]! + w
        out.resetAtMs = at
        out.waitMs = at - nowMs
      }
      return
    }
    default: {
      let m = b.a
      let f = b.b
      if (b.limit !== limit || m < nowMs || (m === nowMs && f === 0)) { m = nowMs; f = 0 }
      // n = available tokens * windowMs, exactly: (windowMs - (TAT - now)) * limit.
      const n = (w - (m - nowMs)) * limit - f
      let rem = Math.floor(n / w)
      if (rem < 0) rem = 0
      if (rem >= limit) {
        out.remaining = limit
        out.resetAtMs = nowMs
        out.waitMs = 0
        return
      }
      // Next whole token: n + d * limit >= (rem + 1) * windowMs.
      const at = nowMs + Math.ceil(((rem + 1) * w - n) / limit)
      out.remaining = rem
      out.resetAtMs = at
      out.waitMs = allowed ? 0 : at - nowMs
    }
  }
}

export interface RawReport {
  remaining: number
  resetAtMs: number
  waitMs: number
}

/**
 * A decision as the client sees it: the configured limit (even when an over-admit fault enforces
 * more), remaining clamped to it, Retry-After in whole seconds.
 */
export function toDecision (raw: RawReport, allowed: boolean, policy: LimitPolicy, effective: number, share: number, scope: LimitScope): LimitDecision {
  const extra = effective - policy.limit
  const remaining = raw.remaining - extra
  return {
    allowed,
    limit: policy.limit,
    remaining: remaining > 0 ? remaining : 0,
    resetAtMs: raw.resetAtMs,
    retryAfterS: allowed ? 0 : retryAfterSeconds(raw.waitMs),
    scope,
    algorithm: policy.algorithm,
    windowMs: policy.windowMs,
    source: 'limiter',
    overAdmitShare: share,
    other: undefined
  }
}

/**
 * Key and tenant decisions into one: a refusal binds (the longer wait when both refuse, so waiting
 * Retry-After satisfies both); otherwise the smaller remaining binds. The other rides along.
 */
export function bindDecisions (key: LimitDecision, tenant: LimitDecision): LimitDecision {
  let main: LimitDecision
  if (key.allowed && tenant.allowed) main = tenant.remaining < key.remaining ? tenant : key
  else if (key.allowed) main = tenant
  else if (tenant.allowed) main = key
  else main = tenant.retryAfterS > key.retryAfterS || (tenant.retryAfterS === key.retryAfterS && tenant.resetAtMs > key.resetAtMs) ? tenant : key
  // When one side refused, nothing was counted anywhere; the admitting side rides along as it stands.
  main.other = main === key ? tenant : key
  return main
}
