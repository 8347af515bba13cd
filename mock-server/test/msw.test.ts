// The msw handlers (issue 5 item 2) in process: what parity.test.ts does not cover because it is about
// running in process (the default base URL, injected sleep, helpers, a spec-following EventSource over
// intercepted fetch, revocation of open streams, reset). Contract behaviour shared with the Fastify mock
// is held equal to it in parity.test.ts.
import { afterEach, describe, expect, it } from 'vitest'
import { setupServer, type SetupServer } from 'msw/node'
import { createTenzroHandlers, DEFAULT_BASE_URL, type TenzroHandlers, type TenzroHandlersOptions } from '../src/msw/index.ts'
import { LimiterUnavailableError, type LimiterStore } from '../src/domain/limiter/types.ts'
import { fakeClock, fakeKey } from './helper.ts'
import { openEventSource } from './helpers/sse.ts'
import { idsOf, streamReader } from './parity/observe.ts'

const BASE = 'http://tenzro.test'
const open: Array<{ server: SetupServer, t: TenzroHandlers }> = []

function serve (options: TenzroHandlersOptions = {}) {
  const t = createTenzroHandlers({ baseUrl: BASE, ...options, config: { walletsPerTenant: 25, ...options.config } })
  const server = setupServer(...t.handlers)
  server.listen({ onUnhandledFrame: 'error' })
  open.push({ server, t })
  const k = t.createKey('acme')
  const headers = { 'x-api-key': k.key, 'x-tenant-id': k.tenantId }
  return { t, k, headers, server }
}

afterEach(async () => {
  for (const { server, t } of open.splice(0)) {
    server.close()
    await t.close()
  }
})

describe('createTenzroHandlers', () => {
  it('answers at the real API\'s base URL by default, so code under test needs no configuration (contract 1.1)', async () => {
    const t = createTenzroHandlers()
    const server = setupServer(...t.handlers)
    server.listen({ onUnhandledFrame: 'error' })
    open.push({ server, t })
    expect(t.baseUrl).toBe('https://api.platform.tenzro.com')
    const k = t.createKey('globex')
    const res = await fetch(`${DEFAULT_BASE_URL}/api/wallet/list`, { headers: { 'x-api-key': k.key, 'x-tenant-id': 'globex' } })
    expect(res.status).toBe(200)
    const body = await res.json() as { data: unknown[], meta: { hasMore: boolean } }
    expect(body.data).toHaveLength(20)
    expect(body.meta.hasMore).toBe(true)
    expect(res.headers.get('x-ratelimit-remaining')).toBe('99')
  })

  it('refuses a base URL that is not http(s) and a NATS event backend without an event log, as programmer errors', () => {
    expect(() => createTenzroHandlers({ baseUrl: 'tenzro.test' })).toThrow(TypeError)
    expect(() => createTenzroHandlers({ config: { events: { backend: 'nats://127.0.0.1:4222' } } })).toThrow(/eventLog/)
  })

  it('waits injected latency and slow-body delays through the sleep it is given, and still delivers the whole body (7.2)', async () => {
    const slept: number[] = []
    const { t, headers } = serve({ sleep: async (ms) => { slept.push(ms) } })
    t.setFaults({ faults: [{ type: 'latency', ms: 2500 }, { type: 'slow-body', chunkBytes: 200, delayMs: 7 }] })
    const res = await fetch(`${BASE}/api/wallet/list?limit=3`, { headers })
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(JSON.parse(text).data).toHaveLength(3)
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text))
    expect(slept[0]).toBe(2500)
    expect(slept.slice(1)).toEqual(new Array(Math.ceil(Buffer.byteLength(text) / 200)).fill(7))
  })

  it('answers 503 with Retry-After and no rate-limit headers while the limiter store is unreachable (5.4)', async () => {
    const down: LimiterStore = {
      kind: 'redis',
      consume: () => Promise.reject(new LimiterUnavailableError('connection refused')),
      reset () {},
      async close () {}
    }
    const { headers } = serve({ limiterStore: down })
    const res = await fetch(`${BASE}/api/wallet/list`, { headers })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect(res.headers.get('x-ratelimit-limit')).toBeNull()
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('service_unavailable')
  })

  it('records every request with the key id, never the key, and flags a key sent in the URL (7.3, house style principle 6)', async () => {
    const { t, k, headers } = serve()
    await fetch(`${BASE}/api/wallet/list?limit=1`, { headers })
    await fetch(`${BASE}/api/wallet/list?api_key=${k.key}`, { headers })
    await fetch(`${BASE}/api/wallet/list`, { headers: { 'x-api-key': fakeKey('acme'), 'x-tenant-id': 'acme' } })
    const entries = t.record().filter((e) => e.type === 'request')
    expect(entries.map((e) => [e.status, e.keyId, e.auth])).toEqual([
      [200, k.id, 'ok'],
      [200, k.id, 'ok'],
      [401, fakeKey('acme').slice(0, 12), 'refused']
    ])
    expect(entries[1]!.secretInUrl).toBe(true)
    const all = JSON.stringify(t.record())
    expect(all).not.toContain(k.key.slice(12))
    expect(all).not.toContain(fakeKey('acme').slice(12))
  })

  it('goes back to the seeded start on reset: wallets, faults and records, keeping fixture keys (7.4)', async () => {
    const fixture = fakeKey('acme')
    const { t } = serve({ config: { tenants: [{ slug: 'acme', keys: [{ key: fixture }] }, { slug: 'globex' }] } })
    const headers = { 'x-api-key': fixture, 'x-tenant-id': 'acme' }
    const create = await fetch(`${BASE}/api/wallet/create`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Temp', type: 'single', chain: 'bitcoin' }) })
    expect(create.status).toBe(201)
    t.setFaults({ faults: [{ type: 'error', status: 500, scope: { route: 'POST /api/wallet/create' } }] })
    t.reset()
    expect(t.record()).toEqual([])
    const list = await fetch(`${BASE}/api/wallet/list?limit=100`, { headers })
    const body = await list.json() as { data: Array<{ name: string }> }
    expect(body.data).toHaveLength(25)
    expect(body.data.some((w) => w.name === 'Temp')).toBe(false)
    const again = await fetch(`${BASE}/api/wallet/create`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Temp', type: 'single', chain: 'bitcoin' }) })
    expect(again.status).toBe(201)
  })
})

describe('the event stream through msw (contract 4)', () => {
  it('lets a spec-following EventSource resume with Last-Event-ID after a dropped stream and see each event once (4.4, 7.2)', async () => {
    const { t, k } = serve({ config: { events: { retryMs: 10 } } })
    t.setFaults({ faults: [{ type: 'sse-drop', afterEvents: 2, times: 1 }] })
    const es = await openEventSource(`${BASE}/api/events/stream`, k, ['token.transfer.pending'])
    try {
      await es.waitFor(() => es.opens.length === 1, 5000, 'the first open')
      for (let i = 1; i <= 5; i++) await t.publish('acme', 'token.transfer.pending', { n: i })
      await es.waitFor(() => es.received.length === 5, 5000, 'five events')
      expect(es.received.map((e) => e.id)).toEqual(['1', '2', '3', '4', '5'])
      expect(es.sentLastEventIds).toEqual([null, '2'])
      expect(es.opens).toHaveLength(2)
    } finally {
      es.close()
    }
    const drops = t.record().filter((e) => e.type === 'drop')
    expect(drops.map((e) => [e.reason, e.lastId])).toEqual([['fault', 2]])
  })

  it('closes an open stream when its key is revoked and sends nothing published after the revocation (2.5)', async () => {
    const { t, k, headers } = serve()
    const ac = new AbortController()
    const res = await fetch(`${BASE}/api/events/stream`, { headers, signal: ac.signal })
    const reader = streamReader(res, ac)
    await reader.until((x) => x.startsWith('retry: 1000\n\n'))
    await t.publish('acme', 'wallet.updated', { n: 1 })
    await reader.until((x) => idsOf(x).length === 1)
    expect(t.openStreams(k.id)).toBe(1)
    t.revokeKey(k.id)
    await t.publish('acme', 'wallet.updated', { n: 2 })
    const end = await reader.until(() => false, 'the end of the stream')
    expect(end.ending).toBe('end')
    expect(idsOf(end.text)).toEqual([1])
    expect(t.openStreams(k.id)).toBe(0)
    expect(t.record().filter((e) => e.type === 'drop').map((e) => e.reason)).toEqual(['revoked'])
  })

  it('sends heartbeats as comment lines at the configured interval (4.3)', async () => {
    const { headers } = serve({ config: { events: { heartbeatMs: 20 } } })
    const ac = new AbortController()
    const res = await fetch(`${BASE}/api/events/stream`, { headers, signal: ac.signal })
    const reader = streamReader(res, ac)
    try {
      const got = await reader.until((x) => x.split(': heartbeat\n\n').length > 2, 'two heartbeats')
      expect(got.text.startsWith('retry: 1000\n\n: heartbeat\n\n')).toBe(true)
    } finally {
      reader.close()
    }
  })

  it('uses the clock it is given for event timestamps, so tests can pin them (house style principle 3)', async () => {
    const clock = fakeClock(Date.UTC(2030, 0, 1))
    const { t } = serve({ now: clock.now })
    clock.advance(1234)
    const e = await t.publish('acme', 'ledger.entry.created', { amount: '1.00' })
    expect(e).toMatchObject({ seq: 1, id: 'evt_1', type: 'ledger.entry.created', timestamp: '2030-01-01T00:00:01.234Z' })
  })
})
