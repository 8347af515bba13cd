// The Redis store through the app, against a real redis-server (issue 3 item 6): a fake clock drives
// Redis too, and an outage is answered with 503 service_unavailable and Retry-After, logged once when
// it starts and once when it ends, instead of admitting everything or crashing.
import { Writable } from 'node:stream'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { assertConforming, watchAnswers, type Violation } from './helpers/openapi.ts'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.ts'
import { resolveConfig, type MockConfigInput } from '../src/config.ts'
import { createRedisLimiterStore } from '../src/domain/limiter/stores/redis.ts'
import { LimiterUnavailableError } from '../src/domain/limiter/types.ts'
import { redisSkipReason, startRedisServer, type RedisServer } from './helpers/redis.ts'

const T0 = 1_800_000_000_000
const skip = redisSkipReason()

describe.skipIf(skip !== undefined)('Redis limiter store', () => {
  let redis: RedisServer
  const apps: FastifyInstance[] = []
  beforeAll(async () => { redis = await startRedisServer() })
  afterAll(async () => { await redis?.stop() })
  // Every answer must be one GET /openapi.json documents (the 503 of an unreachable store included).
  const watched: Violation[][] = []
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close()
    if (!redis.running()) await redis.restart()
    assertConforming(watched.splice(0).flat())
  })

  async function mock (input: MockConfigInput = {}) {
    const clock = { now: T0 }
    const logs: Array<{ level: number, msg: string, [k: string]: unknown }> = []
    const logStream = new Writable({
      write (chunk, _enc, cb) {
        for (const line of String(chunk).split('\n')) if (line !== '') logs.push(JSON.parse(line))
        cb()
      }
    })
    const app = await buildApp(resolveConfig({ logLevel: 'info', walletsPerTenant: 1, ...input, rateLimit: { store: redis.url, ...input.rateLimit } }), { now: () => clock.now, logStream })
    apps.push(app)
    watched.push(watchAnswers(app))
    const tenant = app.mock.keys.tenant('acme')!
    const { key } = app.mock.keys.createKey(tenant, {})
    const get = () => app.inject({ url: '/api/wallet/list', headers: { 'x-api-key': key, 'x-tenant-id': tenant.id } })
    const outageLines = () => ({
      started: logs.filter((l) => l.msg.startsWith('rate-limit store unreachable')),
      ended: logs.filter((l) => l.msg === 'rate-limit store reachable again')
    })
    return { app, clock, get, logs, outageLines }
  }

  it('limits through Redis under the fake clock, with an honest Retry-After', async () => {
    const { get, clock } = await mock({ rateLimit: { limit: 2, windowMs: 10_000, algorithm: 'sliding-window' } })
    clock.now = T0 + 1_000
    expect((await get()).statusCode).toBe(200)
    clock.now = T0 + 4_000
    expect((await get()).statusCode).toBe(200)
    const refused = await get()
    expect(refused.statusCode).toBe(429)
    expect(refused.headers['retry-after']).toBe('7')
    expect(refused.headers['x-ratelimit-reset']).toBe(String((T0 + 11_000) / 1000))
    clock.now += 7_000
    expect((await get()).statusCode).toBe(200)
  })

  it('answers 503 with Retry-After while Redis is down, logs the outage once, and logs its end once', async () => {
    const { get, outageLines, app } = await mock({ rateLimit: { limit: 100 } })
    expect((await get()).statusCode).toBe(200)
    await redis.kill()
    for (let i = 0; i < 5; i++) {
      const t = performance.now()
      const r = await get()
      expect(performance.now() - t).toBeLessThan(1500)
      expect(r.statusCode).toBe(503)
      expect(r.json().error.code).toBe('service_unavailable')
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    }
    expect(outageLines().started).toHaveLength(1)
    expect(outageLines().started[0]!.level).toBe(50)
    expect(outageLines().ended).toHaveLength(0)
    // The refused requests are in the record, marked as the limiter's doing.
    const entries = app.mock.record.ndjson().trim().split('\n').map((l) => JSON.parse(l) as { status: number, rateLimit: { allowed: boolean } | null })
    expect(entries.filter((e) => e.status === 503).every((e) => e.rateLimit?.allowed === false)).toBe(true)

    await redis.restart()
    let status = 0
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await get()).statusCode
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(status).toBe(200)
    expect((await get()).statusCode).toBe(200)
    expect(outageLines().started).toHaveLength(1)
    expect(outageLines().ended).toHaveLength(1)
    expect(outageLines().ended[0]!.level).toBe(30)

    // A second outage is a new one: one more line.
    await redis.kill()
    expect((await get()).statusCode).toBe(503)
    expect((await get()).statusCode).toBe(503)
    expect(outageLines().started).toHaveLength(2)
  })

  it('starts while Redis is unreachable and answers 503 instead of admitting', async () => {
    await redis.kill()
    const { get, outageLines } = await mock()
    const r = await get()
    expect(r.statusCode).toBe(503)
    expect(r.headers['retry-after']).toBe('1')
    expect((await get()).statusCode).toBe(503)
    expect(outageLines().started).toHaveLength(1)
  })

  it('rejects a call with LimiterUnavailableError within the command timeout when Redis stops answering', async () => {
    const store = createRedisLimiterStore({ url: redis.url, prefix: 'stall:', commandTimeoutMs: 200 })
    try {
      expect(await store.ready(5000)).toBe(true)
      const policy = { algorithm: 'fixed-window' as const, limit: 5, windowMs: 60_000 }
      expect((await store.consume(T0, 'k', policy, undefined, undefined, 0)).allowed).toBe(true)
      redis.pause()
      const t = performance.now()
      await expect(store.consume(T0, 'k', policy, undefined, undefined, 0)).rejects.toBeInstanceOf(LimiterUnavailableError)
      expect(performance.now() - t).toBeLessThan(1000)
    } finally {
      redis.resume()
      await store.close()
    }
  })

  it('forgets only its own keys on reset', async () => {
    const a = createRedisLimiterStore({ url: redis.url, prefix: 'a:' })
    const b = createRedisLimiterStore({ url: redis.url, prefix: 'b:' })
    try {
      await a.ready(5000)
      await b.ready(5000)
      const policy = { algorithm: 'fixed-window' as const, limit: 1, windowMs: 60_000 }
      await a.consume(T0, 'k', policy, undefined, undefined, 0)
      await b.consume(T0, 'k', policy, undefined, undefined, 0)
      await a.reset()
      expect((await a.consume(T0, 'k', policy, undefined, undefined, 0)).allowed).toBe(true)
      expect((await b.consume(T0, 'k', policy, undefined, undefined, 0)).allowed).toBe(false)
    } finally {
      await a.close()
      await b.close()
    }
  })
})
