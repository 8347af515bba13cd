// Shared state (config.state.store = redis://) on a real redis-server, in process: two apps on one
// Redis see each other's tenants, keys and wallets; when Redis stops answering, reads of what an
// instance holds keep working and whatever needs Redis answers 503 service_unavailable with
// Retry-After, never a 500 or a hang.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.ts'
import { resolveConfig, type MockConfigInput } from '../src/config.ts'
import { redisSkipReason, startRedisServer, type RedisServer } from './helpers/redis.ts'

const skip = redisSkipReason()

describe.skipIf(skip !== undefined)('shared state on Redis', () => {
  let redis: RedisServer
  let a: FastifyInstance
  let b: FastifyInstance
  const build = (input: MockConfigInput = {}) => buildApp(resolveConfig({ logLevel: 'silent', walletsPerTenant: 1, state: { store: redis.url }, ...input }))

  beforeAll(async () => {
    redis = await startRedisServer()
    a = await build()
    b = await build()
  })
  afterAll(async () => {
    redis?.resume()
    await a?.close()
    await b?.close()
    await redis?.stop()
  })

  it('is not loaded with the default memory store', async () => {
    const m = await buildApp(resolveConfig({ logLevel: 'silent' }))
    expect(m.mock.shared).toBeUndefined()
    expect(m.hasPlugin('mock-shared-state')).toBe(false)
    await m.close()
  })

  it('refuses a bad state.store with the field named', () => {
    expect(() => resolveConfig({ state: { store: 'mysql://x' } })).toThrow(/state\.store: must be "memory" or a redis:\/\/ URL/)
  })

  it('fails to build with a clear message when Redis is not there', async () => {
    await expect(buildApp(resolveConfig({ logLevel: 'silent', state: { store: 'redis://127.0.0.1:1' } }))).rejects.toThrow(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1 for shared state/)
  })

  it('gives two apps the same tenants, keys and wallets, with distinct ids', async () => {
    const t = (await a.inject({ method: 'POST', url: '/__harness/tenants', payload: {} })).json().data
    const h = { 'x-api-key': t.key.key, 'x-tenant-id': t.tenant.id }
    expect((await b.inject({ url: '/api/wallet/list', headers: h })).statusCode).toBe(200)
    const k2 = (await b.inject({ method: 'POST', url: '/__harness/keys', payload: { tenant: t.tenant.id } })).json().data
    expect(k2.id).not.toBe(t.key.id)
    const w1 = (await a.inject({ method: 'POST', url: '/api/wallet/create', headers: h, payload: { name: 'A', type: 'mpc', chain: 'bitcoin' } })).json().data
    const w2 = (await b.inject({ method: 'POST', url: '/api/wallet/create', headers: { 'x-api-key': k2.key, 'x-tenant-id': t.tenant.id }, payload: { name: 'B', type: 'mpc', chain: 'bitcoin' } })).json().data
    expect(w1.id).not.toBe(w2.id)
    for (const app of [a, b]) {
      let names: string[] = []
      for (let i = 0; i < 50 && names.length < 2; i++) {
        names = (await app.inject({ url: '/api/wallet/list', headers: h })).json().data.map((w: { name: string }) => w.name).filter((n: string) => n === 'A' || n === 'B')
        if (names.length < 2) await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(names.sort()).toEqual(['A', 'B'])
    }
  })

  it('counts limiter decisions and 429 reasons in /metrics, as one process does (the request state reaches the metrics)', async () => {
    const t = (await a.inject({ method: 'POST', url: '/__harness/tenants', payload: { rateLimit: 2 } })).json().data
    const h = { 'x-api-key': t.key.key, 'x-tenant-id': t.tenant.id }
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await a.inject({ url: '/api/wallet/list', headers: h })).statusCode)
    expect(statuses).toContain(429)
    const text = (await a.inject({ url: '/metrics' })).body
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0)
    expect(value(/^tenzro_mock_limiter_decisions_total\{decision="allowed",scope="key",source="limiter"\} (\d+)/m)).toBeGreaterThanOrEqual(2)
    expect(value(/^tenzro_mock_limiter_decisions_total\{decision="refused",scope="key",source="limiter"\} (\d+)/m)).toBeGreaterThanOrEqual(1)
    expect(text).toMatch(/^tenzro_mock_rate_limited_total\{reason="key_limit",tenant="[^"]+"\} [1-9]/m)
  })

  it('answers 503 with Retry-After, not 500 or a hang, when Redis stops answering; known keys still read', async () => {
    const t = (await a.inject({ method: 'POST', url: '/__harness/tenants', payload: {} })).json().data
    const h = { 'x-api-key': t.key.key, 'x-tenant-id': t.tenant.id }
    redis.pause()
    try {
      expect((await a.inject({ url: '/api/wallet/list', headers: h })).statusCode).toBe(200)
      const control = await a.inject({ method: 'POST', url: '/__harness/tenants', payload: {} })
      expect(control.statusCode).toBe(503)
      expect(control.json().error.code).toBe('service_unavailable')
      expect(control.headers['retry-after']).toBe('1')
      const idem = await a.inject({ method: 'POST', url: '/api/wallet/create', headers: { ...h, 'x-idempotency-key': 'outage-1' }, payload: { name: 'X', type: 'mpc', chain: 'solana' } })
      expect(idem.statusCode).toBe(503)
      const unknown = await a.inject({ url: '/api/wallet/list', headers: { 'x-api-key': 'tnz_nobody_' + 'A'.repeat(43), 'x-tenant-id': t.tenant.id } })
      expect(unknown.statusCode).toBe(503)
    } finally {
      redis.resume()
    }
  }, 30_000)
})
