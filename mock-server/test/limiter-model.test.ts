// Property tests (issue 3): each algorithm, in the memory store and in the Redis store, against a
// deliberately naive reference model under a fake clock, over random request schedules. The
// decisions and every header value must be identical (contract 5.2-5.4).
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMemoryLimiterStore } from '../src/domain/limiter/stores/memory.ts'
import { createRedisLimiterStore, type RedisLimiterStore } from '../src/domain/limiter/stores/redis.ts'
import { resetSeconds } from '../src/domain/limiter/headers.ts'
import type { Algorithm, LimitDecision, LimitPolicy, LimiterStore } from '../src/domain/limiter/types.ts'
import { redisSkipReason, startRedisServer, type RedisServer } from './helpers/redis.ts'

// ---------------------------------------------------------------------------------------------------
// The reference model: the definitions, computed the slow and obvious way.

interface ModelOutcome { allowed: boolean, remaining: number, resetAtMs: number, waitMs: number }

/** Fixed window: a counter per window [k*W, (k+1)*W). */
function fixedModel () {
  const counts = new Map<number, number>()
  return {
    admits (t: number, L: number, W: number) { return (counts.get(Math.floor(t / W)) ?? 0) < L },
    commit (t: number, _L: number, W: number) { const k = Math.floor(t / W); counts.set(k, (counts.get(k) ?? 0) + 1) },
    report (t: number, L: number, W: number, allowed: boolean): ModelOutcome {
      const k = Math.floor(t / W)
      const end = (k + 1) * W
      return { allowed, remaining: Math.max(0, L - (counts.get(k) ?? 0)), resetAtMs: end, waitMs: allowed ? 0 : end - t }
    }
  }
}

/** Sliding window: every admitted request's time; one counts at t while t - e < W. */
function slidingModel () {
  const times: number[] = []
  const countAt = (t: number, W: number) => times.filter((e) => e <= t && t - e < W).length
  return {
    admits (t: number, L: number, W: number) { return countAt(t, W) < L },
    commit (t: number) { times.push(t) },
    report (t: number, L: number, W: number, allowed: boolean): ModelOutcome {
      const n = countAt(t, W)
      // Candidate instants are the expiries of counted requests; scan them in order.
      const expiries = times.filter((e) => e <= t && t - e < W).map((e) => e + W).sort((a, b) => a - b)
      if (allowed) {
        // The next instant the count drops, or now when nothing is counted.
        return { allowed, remaining: Math.max(0, L - n), resetAtMs: expiries.length === 0 ? t : expiries[0]!, waitMs: 0 }
      }
      const at = expiries.find((c) => countAt(c, W) < L)!
      return { allowed, remaining: 0, resetAtMs: at, waitMs: at - t }
    }
  }
}

/** Token bucket: a continuous token count in exact rationals (BigInt, tokens * W), full at the start. */
function tokenModel () {
  let s: bigint | undefined
  let last = 0
  const refill = (t: number, L: number, W: number) => {
    const cap = BigInt(L) * BigInt(W)
    if (s === undefined) s = cap
    else if (t > last) s = s + BigInt(t - last) * BigInt(L)
    if (s > cap) s = cap
    if (t > last) last = t
    return s
  }
  return {
    admits (t: number, L: number, W: number) { return refill(t, L, W) >= BigInt(W) },
    commit (t: number, L: number, W: number) { s = refill(t, L, W) - BigInt(W) },
    report (t: number, L: number, W: number, allowed: boolean): ModelOutcome {
      const v = refill(t, L, W)
      const rem = Number(v / BigInt(W))
      if (rem >= L) return { allowed, remaining: L, resetAtMs: t, waitMs: 0 }
      const need = BigInt(rem + 1) * BigInt(W) - v
      const d = Number((need + BigInt(L) - 1n) / BigInt(L))
      return { allowed, remaining: rem, resetAtMs: t + d, waitMs: allowed ? 0 : d }
    }
  }
}

type BucketModel = ReturnType<typeof fixedModel>
function modelFor (a: Algorithm): BucketModel {
  if (a === 'fixed-window') return fixedModel()
  if (a === 'sliding-window') return slidingModel() as unknown as BucketModel
  return tokenModel() as unknown as BucketModel
}

function toClient (o: ModelOutcome, p: LimitPolicy, effective: number, scope: 'key' | 'tenant') {
  return {
    allowed: o.allowed,
    limit: p.limit,
    remaining: Math.max(0, o.remaining - (effective - p.limit)),
    resetAtMs: o.resetAtMs,
    retryAfterS: o.allowed ? 0 : Math.max(1, Math.ceil(o.waitMs / 1000)),
    scope
  }
}
type ClientView = ReturnType<typeof toClient>

/** The whole limiter: key and optional tenant must both admit; a refusal counts nowhere. */
function limiterModel () {
  const buckets = new Map<string, BucketModel>()
  const get = (id: string, a: Algorithm) => {
    let b = buckets.get(id)
    if (b === undefined) { b = modelFor(a); buckets.set(id, b) }
    return b
  }
  return (t: number, kid: string, kp: LimitPolicy, tid: string | undefined, tp: LimitPolicy | undefined, sharePct: number) => {
    const kL = Math.floor(kp.limit * (100 + sharePct) / 100)
    const kb = get(kid, kp.algorithm)
    const kOk = kb.admits(t, kL, kp.windowMs)
    if (tid === undefined || tp === undefined) {
      if (kOk) kb.commit(t, kL, kp.windowMs)
      return { main: toClient(kb.report(t, kL, kp.windowMs, kOk), kp, kL, 'key'), other: undefined }
    }
    const tL = Math.floor(tp.limit * (100 + sharePct) / 100)
    const tb = get(tid, tp.algorithm)
    const tOk = tb.admits(t, tL, tp.windowMs)
    if (kOk && tOk) { kb.commit(t, kL, kp.windowMs); tb.commit(t, tL, tp.windowMs) }
    const k = toClient(kb.report(t, kL, kp.windowMs, kOk), kp, kL, 'key')
    const tv = toClient(tb.report(t, tL, tp.windowMs, tOk), tp, tL, 'tenant')
    let main: ClientView
    if (kOk && tOk) main = tv.remaining < k.remaining ? tv : k
    else if (kOk) main = tv
    else if (tOk) main = k
    else main = tv.retryAfterS > k.retryAfterS || (tv.retryAfterS === k.retryAfterS && tv.resetAtMs > k.resetAtMs) ? tv : k
    return { main, other: main === k ? tv : k }
  }
}

// ---------------------------------------------------------------------------------------------------
// Schedules.

const algorithm = fc.constantFrom<Algorithm>('fixed-window', 'sliding-window', 'token-bucket')
const policy = fc.record({
  algorithm,
  limit: fc.integer({ min: 1, max: 12 }),
  // Whole seconds and odd lengths both: windows need not be multiples of a second.
  windowMs: fc.oneof(fc.integer({ min: 1, max: 10 }).map((s) => s * 1000), fc.integer({ min: 1000, max: 9999 }))
})
const step = (maxGap: number) => fc.record({
  gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: maxGap })),
  bucket: fc.integer({ min: 0, max: 2 }),
  withTenant: fc.boolean()
})
const schedule = fc.record({
  key: policy,
  tenant: policy,
  startMs: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  sharePct: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 100 })),
  steps: fc.array(step(12_000), { minLength: 1, maxLength: 60 })
})
type Schedule = typeof schedule extends fc.Arbitrary<infer T> ? T : never

function view (d: LimitDecision) {
  return { allowed: d.allowed, limit: d.limit, remaining: d.remaining, resetAtMs: d.resetAtMs, retryAfterS: d.retryAfterS, scope: d.scope }
}

let runs = 0
async function compare (store: LimiterStore, s: Schedule): Promise<void> {
  const model = limiterModel()
  const run = `r${++runs}`
  let t = s.startMs
  for (const st of s.steps) {
    t += st.gapMs
    const kid = `${run}:k${st.bucket}`
    const tid = st.withTenant ? `${run}:tenant` : undefined
    const tp = st.withTenant ? s.tenant : undefined
    const got = await store.consume(t, kid, s.key, tid, tp, s.sharePct / 100)
    const want = model(t, kid, s.key, tid, tp, s.sharePct)
    expect(view(got)).toEqual(want.main)
    expect(got.other === undefined ? undefined : view(got.other)).toEqual(want.other)
    expect(resetSeconds(got)).toBe(Math.ceil(want.main.resetAtMs / 1000))
  }
}

describe('memory store against the reference model (contract 5.4)', () => {
  it('makes the same decisions and header values over random schedules, for every algorithm', async () => {
    const store = createMemoryLimiterStore()
    await fc.assert(fc.asyncProperty(schedule, async (s) => { await compare(store, s) }), { numRuns: 400, seed: 20260503 })
  })

  it('keeps Remaining from increasing before Reset, on every algorithm', () => {
    fc.assert(fc.property(policy, fc.integer({ min: 1_600_000_000_000, max: 1_700_000_000_000 }), fc.array(step(3000), { minLength: 2, maxLength: 80 }), (p, start, steps) => {
      const store = createMemoryLimiterStore()
      let t = start
      let prev: LimitDecision | undefined
      for (const st of steps) {
        t += st.gapMs
        const d = store.consume(t, 'k', p, undefined, undefined, 0)
        if (prev !== undefined && t < prev.resetAtMs) expect(d.remaining).toBeLessThanOrEqual(prev.remaining)
        if (!d.allowed) expect(d.remaining).toBe(0)
        prev = d
      }
    }), { numRuns: 300, seed: 7 })
  })

  it('admits a client that waits exactly Retry-After seconds after a refusal, on every algorithm', () => {
    fc.assert(fc.property(policy, fc.integer({ min: 1_600_000_000_000, max: 1_700_000_000_000 }), fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 40 }), (p, start, gaps) => {
      const store = createMemoryLimiterStore()
      let t = start
      for (const g of gaps) {
        t += g
        const d = store.consume(t, 'k', p, undefined, undefined, 0)
        if (d.allowed) continue
        expect(d.retryAfterS).toBeGreaterThanOrEqual(1)
        expect(d.resetAtMs).toBeGreaterThan(t)
        t += d.retryAfterS * 1000
        expect(store.consume(t, 'k', p, undefined, undefined, 0).allowed).toBe(true)
      }
    }), { numRuns: 300, seed: 11 })
  })
})

const skip = redisSkipReason()
describe.skipIf(skip !== undefined)('Redis store against the reference model (contract 5.4)', () => {
  let server: RedisServer
  let store: RedisLimiterStore
  beforeAll(async () => {
    server = await startRedisServer()
    store = createRedisLimiterStore({ url: server.url, prefix: 'model:' })
    expect(await store.ready(5000)).toBe(true)
  })
  afterAll(async () => {
    await store?.close()
    await server?.stop()
  })

  it('makes the same decisions and header values as the model and the memory store', async () => {
    await fc.assert(fc.asyncProperty(schedule, async (s) => { await compare(store, s) }), { numRuns: 60, seed: 20260504 })
  })
})
