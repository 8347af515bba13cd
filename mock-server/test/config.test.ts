// resolveConfig (house style principle 2): defaults merged, every field validated once, and a ConfigError
// that lists each bad field at once. A pure function, so plain calls.
import { describe, expect, it } from 'vitest'
import { ConfigError, DEFAULT_CONFIG, resolveConfig, type MockConfigInput } from '../src/config.ts'
import { buildApp } from '../src/app.ts'
import { fakeKey } from './helper.ts'

function fieldsOf (input: unknown): string[] {
  try {
    resolveConfig(input as MockConfigInput)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    const e = err as ConfigError
    expect(e.code).toBe('invalid_config')
    for (const d of e.details) expect(e.message).toContain(d.field)
    return e.details.map((d) => d.field).sort()
  }
  return []
}

describe('resolveConfig', () => {
  it('gives the defaults for no input and merges nested sections', () => {
    expect(resolveConfig()).toEqual(DEFAULT_CONFIG)
    const c = resolveConfig({ port: 0, record: { capacity: 500 }, rateLimit: { limit: 5 } })
    expect(c.port).toBe(0)
    expect(c.record).toEqual({ ...DEFAULT_CONFIG.record, capacity: 500 })
    expect(c.rateLimit).toMatchObject({ ...DEFAULT_CONFIG.rateLimit, limit: 5 })
    expect(c.events).toEqual(DEFAULT_CONFIG.events)
  })

  it('rejects unknown options at any depth, naming each', () => {
    expect(fieldsOf({ prot: 1, record: { capacty: 5 }, rateLimit: { limt: 1 }, events: { backnd: 'x' } }))
      .toEqual(['events.backnd', 'prot', 'rateLimit.limt', 'record.capacty'])
    expect(fieldsOf({ tenants: [{ slug: 'acme', colour: 'red' }] })).toEqual(['tenants[0].colour'])
    expect(fieldsOf({ tenants: [{ slug: 'acme', keys: [{ key: fakeKey('acme'), secret: 'x' }] }] })).toEqual(['tenants[0].keys[0].secret'])
    expect(fieldsOf({ rateLimit: { routes: { 'GET /api/wallet/list': { limit: 5, burst: 2 } } } })).toEqual(['rateLimit.routes.GET /api/wallet/list.burst'])
  })

  it('rejects bad values, listing every bad field in one error', () => {
    expect(fieldsOf({
      host: '',
      port: 70000,
      seed: -1,
      controlToken: 'short',
      logLevel: 'loud',
      bodyLimitBytes: 10,
      walletsPerTenant: 1.5,
      record: { capacity: 5 },
      idempotency: { ttlMs: 0, capacity: 1 },
      rateLimit: { algorithm: 'leaky', limit: 0, windowMs: 1, store: 'mysql://x', maxStreamsPerKey: 0 },
      events: { backend: 'kafka://x', capacity: 1, retryMs: -1, heartbeatMs: 1, generatorRate: -2, maxBufferedBytes: 1 }
    })).toEqual([
      'bodyLimitBytes', 'controlToken', 'events.backend', 'events.capacity', 'events.generatorRate', 'events.heartbeatMs',
      'events.maxBufferedBytes', 'events.retryMs', 'host', 'idempotency.capacity', 'idempotency.ttlMs', 'logLevel', 'port',
      'rateLimit.algorithm', 'rateLimit.limit', 'rateLimit.maxStreamsPerKey', 'rateLimit.store', 'rateLimit.windowMs',
      'record.capacity', 'seed', 'walletsPerTenant'
    ])
  })

  it('rejects values of the wrong type, including switches and the record file', () => {
    expect(fieldsOf({
      port: '4010',
      controlAllowRemote: 'yes',
      unsafeDisableRedaction: 1,
      record: { file: 42 },
      rateLimit: { enabled: 'true', ietfHeaders: null }
    })).toEqual(['controlAllowRemote', 'port', 'rateLimit.enabled', 'rateLimit.ietfHeaders', 'record.file', 'unsafeDisableRedaction'])
    expect(fieldsOf({ record: { file: '' } })).toEqual(['record.file'])
    expect(fieldsOf(null)).toEqual(['config'])
    expect(fieldsOf([])).toEqual(['config'])
  })

  it('checks tenants and their fixture keys, so a bad fixture is a config error and not a crash', async () => {
    expect(fieldsOf({ tenants: 'acme' })).toEqual(['tenants'])
    expect(fieldsOf({ tenants: [{ slug: 'Acme' }, { slug: 'globex' }, { slug: 'globex' }, { slug: 'x', quota: 0 }] })).toEqual(['tenants[0].slug', 'tenants[2].slug', 'tenants[3].quota'])
    expect(fieldsOf({ tenants: [{ slug: 'acme', id: 'not-a-uuid' }] })).toEqual(['tenants[0].id'])
    expect(fieldsOf({
      tenants: [{
        slug: 'acme',
        keys: [
          { key: fakeKey('globex') },
          { key: 'tnz_acme_short' },
          { key: fakeKey('acme'), scopes: ['wallet:fly'], rateLimit: 0, expiresAt: 'soon' },
          'tnz_acme_notAnObject'
        ]
      }]
    })).toEqual(['tenants[0].keys[0].key', 'tenants[0].keys[1].key', 'tenants[0].keys[2].expiresAt', 'tenants[0].keys[2].rateLimit', 'tenants[0].keys[2].scopes', 'tenants[0].keys[3]'])
    // A good fixture key works end to end.
    const key = fakeKey('acme', 'FIXTURE')
    const app = await buildApp(resolveConfig({ logLevel: 'silent', tenants: [{ slug: 'acme', id: '0b0b0b0b-0000-4000-8000-000000000001', keys: [{ key, scopes: ['wallet:read'] }] }] }))
    try {
      const res = await app.inject({ method: 'GET', url: '/api/wallet/list?limit=1', headers: { 'x-api-key': key, 'x-tenant-id': '0b0b0b0b-0000-4000-8000-000000000001' } })
      expect(res.statusCode).toBe(200)
    } finally {
      await app.close()
    }
  })

  it('accepts route policies only for "METHOD /path" keys with valid values', () => {
    expect(fieldsOf({ rateLimit: { routes: { '/api/wallet/list': { limit: 1 } } } })).toEqual(['rateLimit.routes./api/wallet/list'])
    expect(fieldsOf({ rateLimit: { routes: { 'GET /api/wallet/list': { limit: 0, windowMs: 5, algorithm: 'x' } } } }))
      .toEqual(['rateLimit.routes.GET /api/wallet/list.algorithm', 'rateLimit.routes.GET /api/wallet/list.limit', 'rateLimit.routes.GET /api/wallet/list.windowMs'])
    expect(fieldsOf({ rateLimit: { routes: { 'GET /api/wallet/list': 5 } } })).toEqual(['rateLimit.routes.GET /api/wallet/list'])
    expect(fieldsOf({ rateLimit: { routes: { 'GET /api/wallet/list': { limit: 3, windowMs: 1000, algorithm: 'token-bucket' } } } })).toEqual([])
  })
})

describe('--control-allow-remote', () => {
  it('opens the control API to other hosts only behind a control token', async () => {
    const { parseCli, UsageError } = await import('../src/server.ts')
    expect(parseCli(['--control-allow-remote', '--control-token', 't0ken'], {}).input.controlAllowRemote).toBe(true)
    expect(parseCli([], { TENZRO_MOCK_CONTROL_ALLOW_REMOTE: '1', TENZRO_MOCK_CONTROL_TOKEN: 't0ken' }).input.controlAllowRemote).toBe(true)
    expect(parseCli([], {}).input.controlAllowRemote).toBeUndefined()
    expect(() => parseCli(['--control-allow-remote'], {})).toThrow(UsageError)
    expect(() => parseCli(['--control-allow-remote'], {})).toThrow(/needs --control-token/)
  })
})
