// Exactness under concurrency (contract 5.4, issue 3): 200 concurrent clients on real sockets send 2L
// requests for one key within one window; exactly L are admitted and L refused with 429, with
// consistent headers. Three seeded runs per variant here; `node bench/limiter-runs.ts` runs 100.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runTrial, runVariant, type Variant } from '../../bench/limiter-runs.ts'
import { buildApp } from '../src/app.ts'
import { resolveConfig } from '../src/config.ts'
import { redisSkipReason, startRedisServer, type RedisServer } from './helpers/redis.ts'

const RUNS = 3

describe('200 concurrent clients, memory store', () => {
  for (const variant of ['fixed-window', 'sliding-window', 'token-bucket'] as Variant[]) {
    it(`admits exactly L of 2L requests in ${RUNS} seeded runs (${variant})`, async () => {
      const results = await runVariant(variant, { runs: RUNS, seedBase: 1 })
      for (const r of results) expect({ seed: r.seed, problems: r.problems }).toEqual({ seed: r.seed, problems: [] })
      expect(results.every((r) => r.admitted === r.limit && r.refused === r.limit)).toBe(true)
    })
  }

  it('lets a socket probe catch an over-admitting limiter whose headers still claim the limit', async () => {
    const app = await buildApp(resolveConfig({ logLevel: 'silent', walletsPerTenant: 1 }), { now: () => 1_800_000_000_000 })
    try {
      app.mock.setFaults({ faults: [{ type: 'over-admit', share: 0.2 }] })
      await app.listen({ host: '127.0.0.1', port: 0 })
      const addr = app.server.address()
      const url = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`
      const r = await runTrial([{ app, url }], { seed: 5, algorithm: 'fixed-window' })
      expect(r.admitted).toBe(Math.floor(r.limit * 1.2))
      expect(r.problems).toContain(`admitted ${r.admitted}, want exactly ${r.limit}`)
    } finally {
      await app.close()
    }
  })
})

const skip = redisSkipReason()
describe.skipIf(skip !== undefined)('200 concurrent clients, Redis store', () => {
  let redis: RedisServer
  beforeAll(async () => { redis = await startRedisServer() })
  afterAll(async () => { await redis?.stop() })

  it(`admits exactly L of 2L requests in ${RUNS} seeded runs, one algorithm per run`, async () => {
    const results = await runVariant('redis', { runs: RUNS, seedBase: 1, redisUrl: redis.url })
    expect(new Set(results.map((r) => r.algorithm)).size).toBe(3)
    for (const r of results) expect({ seed: r.seed, problems: r.problems }).toEqual({ seed: r.seed, problems: [] })
  })

  it(`admits exactly L across two mock instances sharing one Redis in ${RUNS} seeded runs`, async () => {
    const results = await runVariant('redis-two-instances', { runs: RUNS, seedBase: 1, redisUrl: redis.url })
    for (const r of results) {
      expect(r.instances).toBe(2)
      expect({ seed: r.seed, problems: r.problems }).toEqual({ seed: r.seed, problems: [] })
    }
  })
})
