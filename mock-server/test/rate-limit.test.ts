// The rate-limit plugin through the real app (contract 5, fault 7.2; issue 3), with a fake clock
// through deps.now so nothing sleeps. HTTP rules go through app.inject() (house style principle 7);
// the concurrency runs on real sockets live in rate-limit-concurrency.test.ts.
import { afterEach, describe, expect, it } from 'vitest'
import { assertConforming, watchAnswers, type Violation } from './helpers/openapi.ts'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../src/app.ts'
import { resolveConfig, type MockConfigInput } from '../src/config.ts'
import { createMemoryLimiterStore } from '../src/domain/limiter/stores/memory.ts'
import type { Algorithm } from '../src/domain/limiter/types.ts'

const T0 = 1_800_000_000_000 // a window boundary for every window length used here
const apps: FastifyInstance[] = []
// Every answer must be one GET /openapi.json documents (429s and their headers included).
const watched: Violation[][] = []
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close()
  assertConforming(watched.splice(0).flat())
})

async function mock (input: MockConfigInput = {}, extra: { limiterStore?: unknown } = {}) {
  const clock = { now: T0 }
  const app = await buildApp(resolveConfig({ logLevel: 'silent', walletsPerTenant: 2, ...input }), { now: () => clock.now, ...extra })
  apps.push(app)
  watched.push(watchAnswers(app))
  const key = (slug = 'acme', rateLimit?: number) => {
    const tenant = app.mock.keys.tenant(slug)!
    const { record, key } = app.mock.keys.createKey(tenant, rateLimit === undefined ? {} : { rateLimit })
    return { id: record.id, key, tenantId: tenant.id }
  }
  const get = (k: { key: string, tenantId: string }, url = '/api/wallet/list') =>
    app.inject({ method: 'GET', url, headers: { 'x-api-key': k.key, 'x-tenant-id': k.tenantId } })
  return { app, clock, key, get }
}

function rl (r: LightMyRequestResponse) {
  return {
    status: r.statusCode,
    limit: Number(r.headers['x-ratelimit-limit']),
    remaining: Number(r.headers['x-ratelimit-remaining']),
    reset: Number(r.headers['x-ratelimit-reset']),
    retryAfter: r.headers['retry-after'] === undefined ? undefined : Number(r.headers['retry-after'])
  }
}

describe('rate-limit headers (contract 5.2)', () => {
  it('puts consistent X-RateLimit headers on every authenticated response, errors included', async () => {
    const { key, get, clock } = await mock({ rateLimit: { limit: 3, windowMs: 60_000 } })
    const k = key()
    clock.now = T0 + 12_345
    const a = rl(await get(k))
    expect(a).toEqual({ status: 200, limit: 3, remaining: 2, reset: (T0 + 60_000) / 1000, retryAfter: undefined })
    // A request that fails validation still passed authentication, so it counts and carries the headers.
    const bad = await get(k, '/api/wallet/list?limit=abc')
    expect(bad.statusCode).toBe(400)
    expect(rl(bad)).toMatchObject({ limit: 3, remaining: 1, reset: (T0 + 60_000) / 1000 })
  })

  it('sends no rate-limit headers on public routes or on requests refused by authentication, and does not count them', async () => {
    const { app, key, get } = await mock({ rateLimit: { limit: 2 } })
    const k = key()
    const health = await app.inject({ url: '/health' })
    expect(health.headers['x-ratelimit-limit']).toBeUndefined()
    const mismatch = await app.inject({ url: '/api/wallet/list', headers: { 'x-api-key': k.key, 'x-tenant-id': 'globex' } })
    expect(mismatch.statusCode).toBe(403)
    expect(mismatch.headers['x-ratelimit-limit']).toBeUndefined()
    expect(rl(await get(k)).remaining).toBe(1)
  })

  it('sends the IETF RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers-11) only when asked', async () => {
    const off = await mock({ rateLimit: { limit: 100 } })
    const r0 = await off.get(off.key())
    expect(r0.headers['ratelimit-policy']).toBeUndefined()
    expect(r0.headers.ratelimit).toBeUndefined()

    const on = await mock({ rateLimit: { limit: 100, windowMs: 60_000, ietfHeaders: true } })
    const k = on.key()
    on.clock.now = T0 + 43_000
    for (let i = 0; i < 57; i++) await on.get(k)
    const r = await on.get(k)
    expect(r.headers['ratelimit-policy']).toBe('"default";q=100;w=60')
    expect(r.headers.ratelimit).toBe('"default";r=42;t=17')
    expect(r.headers['x-ratelimit-remaining']).toBe('42')
  })
})

describe('refusals (contract 5.3)', () => {
  for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket'] as Algorithm[]) {
    it(`answers 429 rate_limited with an honest Retry-After once the limit is spent (${algorithm})`, async () => {
      const { get, key, clock } = await mock({ rateLimit: { algorithm, limit: 4, windowMs: 10_000 } })
      const k = key()
      clock.now = T0 + 1_250
      let last = Infinity
      for (let i = 0; i < 4; i++) {
        clock.now += 100
        const r = rl(await get(k))
        expect(r.status).toBe(200)
        expect(r.remaining).toBeLessThan(last) // never increases within the window
        last = r.remaining
      }
      const res = await get(k)
      const r = rl(res)
      expect(r.status).toBe(429)
      expect(r.remaining).toBe(0)
      expect(r.limit).toBe(4)
      expect(r.retryAfter).toBeGreaterThanOrEqual(1)
      expect(res.json().error).toEqual({ code: 'rate_limited', message: expect.any(String), details: [{ field: 'retryAfter', message: String(r.retryAfter) }] })
      // Reset and Retry-After tell the same story.
      expect(r.reset).toBeGreaterThanOrEqual(Math.ceil(clock.now / 1000) + r.retryAfter! - 1)
      expect(r.reset).toBeLessThanOrEqual(Math.ceil(clock.now / 1000) + r.retryAfter!)
      clock.now += r.retryAfter! * 1000
      expect((await get(k)).statusCode).toBe(200)
    })
  }

  it('keeps refusing until the window ends, then admits (fixed window)', async () => {
    const { get, key, clock } = await mock({ rateLimit: { limit: 1, windowMs: 5_000 } })
    const k = key()
    clock.now = T0 + 1_000
    expect((await get(k)).statusCode).toBe(200)
    clock.now = T0 + 3_500
    const r = rl(await get(k))
    expect(r).toMatchObject({ status: 429, retryAfter: 2, reset: (T0 + 5_000) / 1000 })
    clock.now = T0 + 4_999
    expect((await get(k)).statusCode).toBe(429)
    clock.now = T0 + 5_000
    expect(rl(await get(k))).toMatchObject({ status: 200, remaining: 0, reset: (T0 + 10_000) / 1000 })
  })

  it('writes refused requests to the record with the limiter decision (contract 5.6, 7.3)', async () => {
    const { app, get, key } = await mock({ rateLimit: { limit: 1 } })
    const k = key()
    await get(k)
    await get(k)
    const entries = app.mock.record.ndjson().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    const refused = entries.find((e) => e.status === 429)
    expect(refused).toMatchObject({ keyId: k.id, code: 'rate_limited', rateLimit: { allowed: false, limit: 1, remaining: 0 } })
    expect((refused!.rateLimit as { retryAfterS: number }).retryAfterS).toBeGreaterThanOrEqual(1)
  })
})

describe('policies (contract 5.1)', () => {
  it('uses the key\'s own rateLimit over the default', async () => {
    const { get, key } = await mock({ rateLimit: { limit: 100 } })
    expect(rl(await get(key('acme', 7)))).toMatchObject({ limit: 7, remaining: 6 })
    expect(rl(await get(key('acme')))).toMatchObject({ limit: 100, remaining: 99 })
  })

  it('gives a route with its own policy its own bucket, window and algorithm', async () => {
    const { get, key, clock } = await mock({ rateLimit: { limit: 5, windowMs: 60_000, routes: { 'GET /api/keys/validate': { limit: 2, windowMs: 10_000 } } } })
    const k = key()
    clock.now = T0 + 1_000
    expect(rl(await get(k, '/api/keys/validate'))).toMatchObject({ limit: 2, remaining: 1, reset: (T0 + 10_000) / 1000 })
    expect(rl(await get(k, '/api/keys/validate'))).toMatchObject({ limit: 2, remaining: 0 })
    expect((await get(k, '/api/keys/validate')).statusCode).toBe(429)
    // The wallet list still has the key's whole default budget.
    expect(rl(await get(k))).toMatchObject({ status: 200, limit: 5, remaining: 4, reset: (T0 + 60_000) / 1000 })
  })

  it('shares a tenant quota between the tenant\'s keys, and a quota refusal spends nothing of the key', async () => {
    const { get, key, app, clock } = await mock({ tenants: [{ slug: 'acme', quota: 3 }, { slug: 'globex' }], rateLimit: { limit: 10, ietfHeaders: true } })
    const k1 = key()
    const k2 = key()
    clock.now = T0 + 500
    // The headers report the binding limiter: here the quota, the smaller remaining.
    expect(rl(await get(k1))).toMatchObject({ status: 200, limit: 3, remaining: 2 })
    expect(rl(await get(k2))).toMatchObject({ status: 200, limit: 3, remaining: 1 })
    const third = await get(k1)
    expect(rl(third)).toMatchObject({ status: 200, limit: 3, remaining: 0 })
    expect(third.headers['ratelimit-policy']).toBe('"default";q=10;w=60, "tenant";q=3;w=60')
    expect(third.headers.ratelimit).toBe('"default";r=8;t=60, "tenant";r=0;t=60')
    for (let i = 0; i < 6; i++) {
      const refused = await get(k2)
      expect(rl(refused)).toMatchObject({ status: 429, limit: 3, remaining: 0, retryAfter: 60 })
      // k2 has still spent one request of its own, however often the quota refused it.
      expect(refused.headers.ratelimit).toBe('"default";r=9;t=60, "tenant";r=0;t=60')
    }
    // A tenant without a quota is limited per key only.
    expect(rl(await get(key('globex')))).toMatchObject({ status: 200, limit: 10, remaining: 9 })
    expect(app.mock.keys.tenant('globex')!.quota).toBeUndefined()
  })

  it('changes tenant B\'s admissions by zero when tenant A spends its quota', async () => {
    const cfg = { tenants: [{ slug: 'acme', quota: 5 }, { slug: 'globex', quota: 5 }], rateLimit: { limit: 50, windowMs: 10_000 } }
    async function bSchedule (withA: boolean) {
      const { get, key, clock } = await mock(cfg)
      const a = key('acme')
      const b = key('globex')
      const seen: unknown[] = []
      for (let i = 0; i < 40; i++) {
        clock.now = T0 + i * 700
        if (withA) for (let j = 0; j < 4; j++) await get(a)
        const r = await get(b)
        seen.push([r.statusCode, r.headers['x-ratelimit-limit'], r.headers['x-ratelimit-remaining'], r.headers['x-ratelimit-reset'], r.headers['retry-after']])
      }
      return seen
    }
    const alone = await bSchedule(false)
    const beside = await bSchedule(true)
    expect(beside).toEqual(alone)
    expect(alone.filter((s) => (s as number[])[0] === 429).length).toBeGreaterThan(0)
  })

  it('can be turned off, and then sends no headers', async () => {
    const { get, key } = await mock({ rateLimit: { enabled: false, limit: 1 } })
    const k = key()
    for (let i = 0; i < 3; i++) {
      const r = await get(k)
      expect(r.statusCode).toBe(200)
      expect(r.headers['x-ratelimit-limit']).toBeUndefined()
    }
  })

  it('forgets every bucket on a control reset (contract 7.4)', async () => {
    // The tenant's bucket survives a reset by name (seeded tenant id), so only clearing the store admits again.
    const { app, get, clock } = await mock({ tenants: [{ slug: 'acme', quota: 1, keys: [{ key: `tnz_acme_${'FAKE'.repeat(11).slice(0, 43)}` }] }] })
    const k = { key: `tnz_acme_${'FAKE'.repeat(11).slice(0, 43)}`, tenantId: 'acme' }
    clock.now = T0 + 1
    expect((await get(k)).statusCode).toBe(200)
    expect((await get(k)).statusCode).toBe(429)
    app.mock.reset()
    expect((await get(k)).statusCode).toBe(200)
  })

  it('shares one limit between two apps given the same store', async () => {
    const store = createMemoryLimiterStore()
    const fixture = `tnz_acme_${'FAKE'.repeat(11).slice(0, 43)}`
    const cfg = { tenants: [{ slug: 'acme', keys: [{ key: fixture, rateLimit: 3 }] }] }
    const one = await mock(cfg, { limiterStore: store })
    const two = await mock(cfg, { limiterStore: store })
    const k = { key: fixture, tenantId: 'acme' }
    const statuses = [await one.get(k), await two.get(k), await one.get(k), await two.get(k)].map((r) => r.statusCode)
    expect(statuses).toEqual([200, 200, 200, 429])
  })
})

describe('faults (contract 7.2)', () => {
  it('answers a forced burst exactly like a real refusal, without spending the key', async () => {
    const { app, get, key, clock } = await mock({ rateLimit: { limit: 10 } })
    const k = key()
    clock.now = T0 + 2_000
    app.mock.setFaults({ faults: [{ type: 'rate-limit-burst', retryAfterS: 7, times: 2 }] })
    for (let i = 0; i < 2; i++) {
      const res = await get(k)
      expect(rl(res)).toEqual({ status: 429, limit: 10, remaining: 0, reset: (T0 + 9_000) / 1000, retryAfter: 7 })
      expect(res.json().error).toEqual({ code: 'rate_limited', message: expect.any(String), details: [{ field: 'retryAfter', message: '7' }] })
    }
    expect(rl(await get(k))).toMatchObject({ status: 200, limit: 10, remaining: 9 })
  })

  it('admits limit * (1 + share) under an over-admit fault while the headers claim the limit, and a counting probe notices', async () => {
    const { app, get, key, clock } = await mock({ rateLimit: { limit: 10 } })
    const k = key()
    clock.now = T0 + 2_000
    app.mock.setFaults({ faults: [{ type: 'over-admit', share: 0.2 }] })
    let admitted = 0
    let claimed = 0
    for (let i = 0; i < 20; i++) {
      const r = rl(await get(k))
      claimed = r.limit
      if (r.status === 200) admitted++
      else expect(r.retryAfter).toBeGreaterThanOrEqual(1)
    }
    expect(claimed).toBe(10)
    expect(admitted).toBe(12)
    // Without the fault the same probe sees exactly the claim.
    app.mock.setFaults({ faults: [] })
    const k2 = key()
    let ok = 0
    for (let i = 0; i < 20; i++) if ((await get(k2)).statusCode === 200) ok++
    expect(ok).toBe(10)
  })

  it('scopes the over-admit fault to the key it names', async () => {
    const { app, get, key } = await mock({ rateLimit: { limit: 2 } })
    const hit = key()
    const spared = key()
    app.mock.setFaults({ faults: [{ type: 'over-admit', share: 1, scope: { key: hit.id } }] })
    const count = async (k: typeof hit) => { let n = 0; for (let i = 0; i < 6; i++) if ((await get(k)).statusCode === 200) n++; return n }
    expect(await count(hit)).toBe(4)
    expect(await count(spared)).toBe(2)
  })
})

describe('stream slots (contract 5.5)', () => {
  it('caps concurrent streams per key at maxStreamsPerKey and frees a slot on release', async () => {
    const { app } = await mock({ rateLimit: { maxStreamsPerKey: 3 } })
    const s = app.streamSlots
    expect([s.acquire('key_a'), s.acquire('key_a'), s.acquire('key_a'), s.acquire('key_a')]).toEqual([true, true, true, false])
    expect(s.acquire('key_b')).toBe(true)
    expect(s.count('key_a')).toBe(3)
    s.release('key_a')
    expect(s.count('key_a')).toBe(2)
    expect(s.acquire('key_a')).toBe(true)
    s.release('key_c')
    expect(s.count('key_c')).toBe(0)
  })

  it('defaults to 5 streams per key', async () => {
    const { app } = await mock()
    let n = 0
    while (app.streamSlots.acquire('key_x')) n++
    expect(n).toBe(5)
  })
})
