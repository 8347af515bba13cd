// The three algorithms of contract 5.4 on the memory store, by example, with a fake clock: what each
// admits, what its headers say, and how they differ. (limiter-model.test.ts checks them against a
// reference model over random schedules.)
import { describe, expect, it } from 'vitest'
import { createMemoryLimiterStore } from '../src/domain/limiter/stores/memory.ts'
import { effectiveLimit, retryAfterSeconds } from '../src/domain/limiter/algorithms.ts'
import { rateLimitHeaders } from '../src/domain/limiter/headers.ts'
import { createStreamSlots } from '../src/domain/limiter/stream-slots.ts'
import { createLimiterStore } from '../src/domain/limiter/index.ts'
import type { Algorithm, LimitPolicy } from '../src/domain/limiter/types.ts'

const T0 = 1_800_000_000_000 // a multiple of every window used here
const p = (algorithm: Algorithm, limit: number, windowMs: number): LimitPolicy => ({ algorithm, limit, windowMs })

function admittedAt (algorithm: Algorithm, limit: number, windowMs: number, times: number[]): boolean[] {
  const store = createMemoryLimiterStore()
  return times.map((t) => store.consume(t, 'k', p(algorithm, limit, windowMs), undefined, undefined, 0).allowed)
}

describe('fixed window', () => {
  it('admits the limit per aligned window and lets a burst straddle the boundary', () => {
    // 3 at the end of one window and 3 at the start of the next: 6 within 2 ms, all admitted.
    expect(admittedAt('fixed-window', 3, 10_000, [T0 + 9_998, T0 + 9_998, T0 + 9_999, T0 + 9_999, T0 + 10_000, T0 + 10_000, T0 + 10_000, T0 + 10_001]))
      .toEqual([true, true, true, false, true, true, true, false])
  })

  it('reports the window end as Reset and the wait to it as Retry-After', () => {
    const store = createMemoryLimiterStore()
    const pol = p('fixed-window', 1, 60_000)
    expect(store.consume(T0 + 100, 'k', pol, undefined, undefined, 0)).toMatchObject({ allowed: true, remaining: 0, resetAtMs: T0 + 60_000, retryAfterS: 0 })
    expect(store.consume(T0 + 58_600, 'k', pol, undefined, undefined, 0)).toMatchObject({ allowed: false, remaining: 0, resetAtMs: T0 + 60_000, retryAfterS: 2 })
  })
})

describe('sliding window', () => {
  it('never admits more than the limit in any window-long span, even across a boundary', () => {
    expect(admittedAt('sliding-window', 3, 10_000, [T0 + 9_998, T0 + 9_998, T0 + 9_999, T0 + 10_000, T0 + 19_997, T0 + 19_998, T0 + 19_999]))
      .toEqual([true, true, true, false, false, true, true])
  })

  it('gives as Retry-After the time until the oldest counted request expires', () => {
    const store = createMemoryLimiterStore()
    const pol = p('sliding-window', 2, 10_000)
    store.consume(T0 + 1_000, 'k', pol, undefined, undefined, 0)
    const second = store.consume(T0 + 5_000, 'k', pol, undefined, undefined, 0)
    expect(second).toMatchObject({ allowed: true, remaining: 0, resetAtMs: T0 + 11_000 })
    expect(store.consume(T0 + 6_500, 'k', pol, undefined, undefined, 0)).toMatchObject({ allowed: false, resetAtMs: T0 + 11_000, retryAfterS: 5 })
    expect(store.consume(T0 + 11_000, 'k', pol, undefined, undefined, 0)).toMatchObject({ allowed: true, remaining: 0, resetAtMs: T0 + 15_000 })
  })
})

describe('token bucket (GCRA)', () => {
  it('admits a burst of the limit, then one request per windowMs / limit', () => {
    // 4 per 10 s: a token every 2.5 s.
    expect(admittedAt('token-bucket', 4, 10_000, [T0, T0, T0, T0, T0, T0 + 2_499, T0 + 2_500, T0 + 2_501, T0 + 5_000]))
      .toEqual([true, true, true, true, false, false, true, false, true])
  })

  it('stays exact when the emission interval is not a whole number of ms', () => {
    // 7 per 60 s: a token every 8571.43 ms; the eighth request is admitted at 8572 ms, not 8571.
    const store = createMemoryLimiterStore()
    const pol = p('token-bucket', 7, 60_000)
    for (let i = 0; i < 7; i++) expect(store.consume(T0, 'k', pol, undefined, undefined, 0).allowed).toBe(true)
    expect(store.consume(T0 + 8_571, 'k', pol, undefined, undefined, 0)).toMatchObject({ allowed: false, resetAtMs: T0 + 8_572, retryAfterS: 1 })
    expect(store.consume(T0 + 8_572, 'k', pol, undefined, undefined, 0)).toMatchObject({ allowed: true, remaining: 0 })
  })

  it('reports the next whole token as Reset, so Remaining never rises before it', () => {
    const store = createMemoryLimiterStore()
    const pol = p('token-bucket', 10, 10_000)
    const d = store.consume(T0, 'k', pol, undefined, undefined, 0)
    expect(d).toMatchObject({ allowed: true, remaining: 9, resetAtMs: T0 + 1_000 })
    expect(store.consume(T0 + 999, 'k', pol, undefined, undefined, 0)).toMatchObject({ remaining: 8 })
  })
})

describe('key and tenant together', () => {
  it('counts a request in both or in neither', () => {
    const store = createMemoryLimiterStore()
    const key = p('fixed-window', 2, 60_000)
    const tenant = p('fixed-window', 3, 60_000)
    const call = (k: string) => store.consume(T0, k, key, 't', tenant, 0)
    expect(call('a')).toMatchObject({ allowed: true, scope: 'key', remaining: 1 })
    expect(call('a')).toMatchObject({ allowed: true, remaining: 0 })
    // Key a refuses: the tenant is not charged.
    expect(call('a')).toMatchObject({ allowed: false, scope: 'key', other: { scope: 'tenant', allowed: true, remaining: 1 } })
    expect(call('b')).toMatchObject({ allowed: true, scope: 'tenant', remaining: 0 })
    // The tenant refuses: key b is not charged.
    const refused = call('b')
    expect(refused).toMatchObject({ allowed: false, scope: 'tenant', retryAfterS: 60, other: { scope: 'key', allowed: true, remaining: 1 } })
  })
})

describe('over-admit fault', () => {
  it('enforces limit * (1 + share) while claiming the configured limit', () => {
    expect(effectiveLimit(10, 0.2)).toBe(12)
    expect(effectiveLimit(100, 0.29)).toBe(129)
    expect(effectiveLimit(7, 0)).toBe(7)
    const store = createMemoryLimiterStore()
    const pol = p('fixed-window', 10, 60_000)
    const ds = Array.from({ length: 13 }, () => store.consume(T0, 'k', pol, undefined, undefined, 0.2))
    expect(ds.filter((d) => d.allowed)).toHaveLength(12)
    expect(ds.every((d) => d.limit === 10 && d.remaining >= 0 && d.remaining <= 9)).toBe(true)
    expect(ds[12]).toMatchObject({ allowed: false, remaining: 0, overAdmitShare: 0.2 })
  })
})

describe('headers', () => {
  it('renders X-RateLimit-*, Retry-After and the IETF fields from one decision', () => {
    const store = createMemoryLimiterStore()
    const pol = p('fixed-window', 1, 60_000)
    store.consume(T0 + 1_500, 'k', pol, undefined, undefined, 0)
    const d = store.consume(T0 + 1_500, 'k', pol, undefined, undefined, 0)
    expect(rateLimitHeaders(d, T0 + 1_500, true)).toEqual({
      'x-ratelimit-limit': '1',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String((T0 + 60_000) / 1000),
      'retry-after': '59',
      'ratelimit-policy': '"default";q=1;w=60',
      ratelimit: '"default";r=0;t=59'
    })
  })

  it('never gives a Retry-After below one second, and rounds up', () => {
    expect([0, 1, 999, 1000, 1001, 59_001].map(retryAfterSeconds)).toEqual([1, 1, 1, 1, 2, 60])
  })
})

describe('memory store housekeeping', () => {
  it('drops idle buckets so memory stays bounded', () => {
    const store = createMemoryLimiterStore({ sweepEvery: 50 })
    const pol = p('sliding-window', 5, 1_000)
    for (let i = 0; i < 49; i++) store.consume(T0, `k${i}`, pol, undefined, undefined, 0)
    expect(store.size()).toBe(49)
    store.consume(T0 + 5_000, 'last', pol, undefined, undefined, 0)
    expect(store.size()).toBe(1)
  })

  it('is chosen by name: "memory" or a redis:// URL', async () => {
    expect(createLimiterStore('memory').kind).toBe('memory')
    expect(() => createLimiterStore('mongodb://x')).toThrow(/memory" or a redis/)
  })
})

describe('stream slots (contract 5.5)', () => {
  it('refuses a slot beyond max and never counts below zero', () => {
    const s = createStreamSlots({ max: 2 })
    expect([s.acquire('k'), s.acquire('k'), s.acquire('k')]).toEqual([true, true, false])
    s.release('k'); s.release('k'); s.release('k')
    expect(s.count('k')).toBe(0)
    expect(() => createStreamSlots({ max: 0 })).toThrow(TypeError)
  })
})
