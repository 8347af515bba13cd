// The in-process limiter store (config.rateLimit.store = 'memory', the default). Synchronous: consume()
// returns the decision itself, so the plugin's hot path allocates no promise. One
// process only: instances that must share a limit use the Redis store.
import {
  ALGORITHM_CODE, bindDecisions, bucketAdmits, bucketCommit, bucketFits, bucketReport, effectiveLimit,
  newBucket, toDecision, FIXED, SLIDING, type Bucket, type RawReport
} from '../algorithms.ts'
import type { LimitDecision, LimitPolicy, LimiterStore } from '../types.ts'

export interface MemoryLimiterStoreOptions {
  /** Look for idle buckets to drop every this many calls (keeps memory bounded on long runs). */
  sweepEvery?: number
}

export function createMemoryLimiterStore ({ sweepEvery = 10_000 }: MemoryLimiterStoreOptions = {}) {
  const buckets = new Map<string, Bucket>()
  // Scratch for the raw reports: consume() is synchronous, so one pair serves every call.
  const rawKey: RawReport = { remaining: 0, resetAtMs: 0, waitMs: 0 }
  const rawTenant: RawReport = { remaining: 0, resetAtMs: 0, waitMs: 0 }
  let calls = 0

  function bucket (id: string, policy: LimitPolicy, limit: number): Bucket {
    const algo = ALGORITHM_CODE[policy.algorithm]
    let b = buckets.get(id)
    if (b === undefined || !bucketFits(b, algo, policy.windowMs, limit)) {
      b = newBucket(algo, policy.windowMs, limit)
      buckets.set(id, b)
    }
    return b
  }

  /** A bucket that no longer holds anything a fresh one would not. */
  function idle (b: Bucket, nowMs: number): boolean {
    if (b.algo === FIXED) return b.a + b.windowMs <= nowMs
    if (b.algo === SLIDING) return b.log.length === 0 || b.log[b.log.length - 1]! <= nowMs - b.windowMs
    return b.a < nowMs || (b.a === nowMs && b.b === 0)
  }

  function sweep (nowMs: number): void {
    for (const [id, b] of buckets) if (idle(b, nowMs)) buckets.delete(id)
  }

  const store = {
    kind: 'memory' as const,

    consume (nowMs: number, keyBucket: string, keyPolicy: LimitPolicy, tenantBucket: string | undefined, tenantPolicy: LimitPolicy | undefined, overAdmitShare: number): LimitDecision {
      if (++calls >= sweepEvery) { calls = 0; sweep(nowMs) }
      const kLimit = effectiveLimit(keyPolicy.limit, overAdmitShare)
      const kb = bucket(keyBucket, keyPolicy, kLimit)
      const kOk = bucketAdmits(kb, kLimit, nowMs)
      if (tenantBucket === undefined || tenantPolicy === undefined) {
        if (kOk) bucketCommit(kb, kLimit, nowMs)
        bucketReport(kb, kLimit, nowMs, kOk, rawKey)
        return toDecision(rawKey, kOk, keyPolicy, kLimit, overAdmitShare, 'key')
      }
      const tLimit = effectiveLimit(tenantPolicy.limit, overAdmitShare)
      const tb = bucket(tenantBucket, tenantPolicy, tLimit)
      const tOk = bucketAdmits(tb, tLimit, nowMs)
      if (kOk && tOk) {
        bucketCommit(kb, kLimit, nowMs)
        bucketCommit(tb, tLimit, nowMs)
      }
      bucketReport(kb, kLimit, nowMs, kOk, rawKey)
      bucketReport(tb, tLimit, nowMs, tOk, rawTenant)
      return bindDecisions(
        toDecision(rawKey, kOk, keyPolicy, kLimit, overAdmitShare, 'key'),
        toDecision(rawTenant, tOk, tenantPolicy, tLimit, overAdmitShare, 'tenant')
      )
    },

    reset (): void {
      buckets.clear()
    },

    /** Buckets held now (for tests of the sweep). */
    size (): number {
      return buckets.size
    },

    async close (): Promise<void> {
      buckets.clear()
    }
  }
  return store satisfies LimiterStore
}

export type MemoryLimiterStore = ReturnType<typeof createMemoryLimiterStore>
