// GET /api/events/stream and /api/events/health (contract 4), POST /__harness/events (7.4), key
// revocation on open streams (2.5), the per-key stream cap (5.5) and slow consumers, through a real
// socket on 127.0.0.1 with a raw SSE reader that sees every byte.
import { afterEach, describe, expect, it } from 'vitest'
import { control, expectErrorEnvelope, fakeClock, headersFor, QUIET, readRecord, startMock, type TestMock } from './helper.ts'
import { openRaw, type RawStream } from './helpers/sse.ts'
import type { MockConfigInput } from '../src/config.ts'
import { createEventGenerator } from '../src/domain/event-generator.ts'
import { EVENT_SUBJECTS } from '../src/domain/event-log/types.ts'

const mocks: TestMock[] = []
const streams: RawStream[] = []
afterEach(async () => {
  for (const s of streams.splice(0)) s.close()
  for (const m of mocks.splice(0)) await m.close()
})

async function mock (events: MockConfigInput['events'] = {}, extra: MockConfigInput = {}, deps = {}) {
  const m = await startMock({ ...QUIET, ...extra, events: { heartbeatMs: 60_000, ...events } }, deps)
  mocks.push(m)
  return m
}

async function open (m: TestMock, query = '', headers: Record<string, string> = {}, k: { key: string, tenantId: string } = m.keys.acme): Promise<RawStream> {
  const s = await openRaw(`${m.url}/api/events/stream${query}`, headersFor(k, headers))
  streams.push(s)
  return s
}

async function publish (m: TestMock, type: string, data: unknown = {}, tenant = 'acme') {
  const r = await control(m, 'POST', '/__harness/events', { tenant, type, data })
  expect(r.status, JSON.stringify(r.body)).toBe(201)
  return r.body.data as { seq: number, id: string, type: string, tenantId: string, timestamp: string, data: unknown }
}

async function publishMany (m: TestMock, n: number, type = 'wallet.created', tenant = 'acme') {
  const tenantId = m.app.mock.keys.tenant(tenant)!.id
  for (let i = 0; i < n; i++) await m.app.mock.events.publish(tenantId, type, { i })
}

const ids = (s: RawStream) => s.events().map((b) => Number(b.id))
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('event stream health (contract 1.7, 4.1)', () => {
  it('answers GET /api/events/health without a key', async () => {
    const m = await mock()
    const res = await fetch(m.url + '/api/events/health')
    expect(res.status).toBe(200)
    const body = await res.json() as { data: unknown, meta: { requestId: string } }
    expect(body.data).toEqual({ status: 'ok' })
    expect(body.meta.requestId).toBe(res.headers.get('x-request-id'))
  })
})

describe('opening a stream (contract 4.2, 4.3)', () => {
  it('authenticates every connection: no key is 401, a key without events:read is 403', async () => {
    const m = await mock()
    const res = await fetch(m.url + '/api/events/stream', { headers: { 'x-tenant-id': m.keys.acme.tenantId } })
    await expectErrorEnvelope(res, 401, 'missing_api_key')
    const tenant = m.app.mock.keys.tenant('acme')!
    const { key } = m.app.mock.keys.createKey(tenant, { scopes: ['wallet:read'] })
    const res2 = await fetch(m.url + '/api/events/stream', { headers: headersFor({ key, tenantId: tenant.id }) })
    await expectErrorEnvelope(res2, 403, 'insufficient_scope')
  })

  it('opens with retry: first, keeps the request headers, and sends each event as id/event/data', async () => {
    const m = await mock()
    const s = await open(m)
    expect(s.status).toBe(200)
    expect(s.headers['content-type']).toMatch(/^text\/event-stream/)
    expect(s.headers['x-request-id']).toMatch(/^req_/)
    expect(s.headers['x-api-version']).toBe('1')
    expect(s.headers['x-ratelimit-limit']).toBeDefined()
    await s.waitFor((x) => x.text().length > 0, 2000, 'retry frame')
    expect(s.text().startsWith('retry: 1000\n\n')).toBe(true)
    const stored = await publish(m, 'wallet.created', { id: 'wal_x', name: 'n' })
    await s.waitFor((x) => x.events().length === 1, 2000, 'one event')
    const [b] = s.events()
    expect(b!.id).toBe(String(stored.seq))
    expect(b!.event).toBe('wallet.created')
    const body = JSON.parse(b!.data!)
    expect(Object.keys(body)).toEqual(['id', 'type', 'tenantId', 'timestamp', 'data'])
    expect(body).toEqual({ id: `evt_${stored.seq}`, type: 'wallet.created', tenantId: m.keys.acme.tenantId, timestamp: stored.timestamp, data: { id: 'wal_x', name: 'n' } })
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp)
    // The frame is exactly the contract's: three lines and a blank line.
    expect(s.text()).toContain(`id: ${stored.seq}\nevent: wallet.created\ndata: ${b!.data}\n\n`)
  })

  it('serves a stream opened with no id only events published after it opened (4.4)', async () => {
    const m = await mock()
    await publishMany(m, 3)
    const s = await open(m)
    await publish(m, 'ledger.entry.created')
    await s.waitFor((x) => x.events().length === 1)
    expect(ids(s)).toEqual([4])
  })

  it('sends heartbeats as comments every heartbeat interval', async () => {
    const m = await mock({ heartbeatMs: 40 })
    const s = await open(m)
    await s.waitFor((x) => x.blocks().filter((b) => b.comment === 'heartbeat').length >= 3, 3000, 'three heartbeats')
    expect(s.text()).toMatch(/^retry: 1000\n\n(: heartbeat\n\n)+$/)
  })

  it('never sends a tenant another tenant\'s events (3.4)', async () => {
    const m = await mock()
    const s = await open(m)
    await publish(m, 'wallet.created', { secret: 'globex' }, 'globex')
    await publish(m, 'wallet.created', { mine: true }, 'acme')
    await s.waitFor((x) => x.events().length === 1)
    expect(JSON.parse(s.events()[0]!.data!).data).toEqual({ mine: true })
  })
})

describe('resuming (contract 4.2, 4.4)', () => {
  it('resumes after last_event_id with every later event in order, then live', async () => {
    const m = await mock()
    await publishMany(m, 10)
    const s = await open(m, '?last_event_id=4')
    await s.waitFor((x) => x.events().length === 6)
    await publishMany(m, 2)
    await s.waitFor((x) => x.events().length === 8)
    expect(ids(s)).toEqual(range(5, 12))
  })

  it('takes Last-Event-ID over the query parameter, since a reconnecting EventSource keeps its URL', async () => {
    const m = await mock()
    await publishMany(m, 10)
    const s = await open(m, '?last_event_id=2', { 'last-event-id': '7' })
    await s.waitFor((x) => x.events().length === 3)
    expect(ids(s)).toEqual([8, 9, 10])
    const recs = await readRecord(m)
    expect(recs.find((r) => r.type === 'resume')).toMatchObject({ lastEventId: 7, via: 'header', from: 8 })
  })

  it('answers a non-numeric id with 400 validation_error naming the field', async () => {
    const m = await mock()
    for (const [query, headers, field] of [
      ['?last_event_id=abc', {}, 'last_event_id'],
      ['?last_event_id=-1', {}, 'last_event_id'],
      ['?last_event_id=1.5', {}, 'last_event_id'],
      ['', { 'last-event-id': 'evt_3' }, 'Last-Event-ID'],
      ['?last_event_id=3', { 'last-event-id': 'x' }, 'Last-Event-ID']
    ] as const) {
      const res = await fetch(`${m.url}/api/events/stream${query}`, { headers: headersFor(m.keys.acme, headers) })
      const body = await expectErrorEnvelope(res, 400, 'validation_error')
      expect(body.error.details.map((d) => d.field)).toEqual([field])
    }
  })

  it('sends stream.gap with the missing range for an id older than the window, every time, then the oldest retained', async () => {
    const m = await mock({ capacity: 10 })
    await publishMany(m, 25)
    for (let i = 0; i < 3; i++) {
      const s = await open(m, '', { 'last-event-id': '3' })
      await s.waitFor((x) => x.events().length === 11, 3000, 'gap and ten events')
      const [gap, ...rest] = s.events()
      expect(gap!.event).toBe('stream.gap')
      expect(JSON.parse(gap!.data!)).toEqual({ from: 4, to: 15 })
      expect(rest.map((b) => Number(b.id))).toEqual(range(16, 25))
      s.close()
    }
    // From the gap frame's own id, a client resumes without being told again.
    const s = await open(m, '', { 'last-event-id': '15' })
    await publishMany(m, 1)
    await s.waitFor((x) => x.events().length === 11)
    expect(s.events().every((b) => b.event !== 'stream.gap')).toBe(true)
    const frames = (await readRecord(m)).filter((r) => r.type === 'frame' && r.event === 'stream.gap')
    expect(frames).toHaveLength(3)
    expect(frames[0]).toMatchObject({ from: 4, to: 15 })
  })

  it('serves an id beyond the newest sequence as live from now', async () => {
    const m = await mock()
    await publishMany(m, 5)
    const s = await open(m, '?last_event_id=500')
    await publishMany(m, 2)
    await s.waitFor((x) => x.events().length === 2)
    expect(ids(s)).toEqual([6, 7])
  })
})

describe('subject filters (contract 4.2)', () => {
  const all = ['wallet.created', 'wallet.updated', 'token.transfer.pending', 'token.transfer.confirmed', 'token.transfer.failed', 'ledger.entry.created', 'wallet', 'wallet.created.extra']

  async function filtered (m: TestMock, subjects: string) {
    const s = await open(m, `?last_event_id=0&subjects=${encodeURIComponent(subjects)}`)
    return s
  }

  it('matches * as exactly one token, > as one or more trailing tokens, and a list as any of its patterns', async () => {
    const m = await mock()
    for (const t of all) await publish(m, t)
    await publish(m, 'end.marker')
    const cases: Array<[string, string[]]> = [
      ['wallet.*', ['wallet.created', 'wallet.updated']],
      ['token.>', ['token.transfer.pending', 'token.transfer.confirmed', 'token.transfer.failed']],
      ['token.*', []],
      ['token.*.confirmed', ['token.transfer.confirmed']],
      ['wallet.>', ['wallet.created', 'wallet.updated', 'wallet.created.extra']],
      ['*.*', ['wallet.created', 'wallet.updated']],
      ['wallet.*,ledger.>', ['wallet.created', 'wallet.updated', 'ledger.entry.created']],
      ['ledger.entry.created, wallet', ['ledger.entry.created', 'wallet']],
      ['>', all]
    ]
    for (const [pattern, want] of cases) {
      const s = await filtered(m, `${pattern},end.marker`)
      await s.waitFor((x) => x.events().some((b) => b.event === 'end.marker'), 3000, `end marker for ${pattern}`)
      expect(s.events().map((b) => b.event).filter((e) => e !== 'end.marker'), pattern).toEqual(want)
      // Ids keep the tenant sequence: gaps where the filter skips, never renumbered.
      const got = ids(s)
      expect(got).toEqual([...got].sort((a, b) => a - b))
      s.close()
    }
  })

  it('rejects malformed patterns with 400 validation_error on subjects', async () => {
    const m = await mock()
    for (const bad of ['wallet.>.created', 'wallet..created', '', 'wal let', 'wallet.cre*', 'a,,b']) {
      const res = await fetch(`${m.url}/api/events/stream?subjects=${encodeURIComponent(bad)}`, { headers: headersFor(m.keys.acme) })
      const body = await expectErrorEnvelope(res, 400, 'validation_error')
      expect(body.error.details[0]!.field, bad).toBe('subjects')
    }
  })
})

describe('revocation and expiry on open streams (contract 2.5)', () => {
  it('closes a revoked key\'s streams within one heartbeat and sends nothing published after the revocation', async () => {
    const m = await mock({ heartbeatMs: 1000 })
    const tenant = m.app.mock.keys.tenant('acme')!
    const doomed = m.app.mock.keys.createKey(tenant, {})
    const k = { key: doomed.key, tenantId: tenant.id }
    const a = await open(m, '', {}, k)
    const b = await open(m, '?subjects=wallet.*', {}, k)
    const other = await open(m)
    await publish(m, 'wallet.created')
    await Promise.all([a, b, other].map((s) => s.waitFor((x) => x.events().length === 1)))
    const t0 = performance.now()
    const r = await control(m, 'DELETE', `/__harness/keys/${doomed.record.id}`)
    expect(r.status).toBe(200)
    await publish(m, 'wallet.created')
    expect(await a.ended).toBe('end')
    expect(await b.ended).toBe('end')
    // Within one heartbeat; in fact at once, since revocation closes the key's streams itself.
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(ids(a)).toEqual([1])
    expect(ids(b)).toEqual([1])
    await other.waitFor((x) => x.events().length === 2)
    const drops = (await readRecord(m)).filter((e) => e.type === 'drop')
    expect(drops.map((d) => [d.keyId, d.reason])).toEqual([[doomed.record.id, 'revoked'], [doomed.record.id, 'revoked']])
    // And the key cannot open a new one.
    const res = await fetch(m.url + '/api/events/stream', { headers: headersFor(k) })
    await expectErrorEnvelope(res, 401, 'revoked_api_key')
  })

  it('closes an expired key\'s stream at the next heartbeat, and sends no event once it has expired', async () => {
    const clock = fakeClock(Date.now())
    const m = await mock({ heartbeatMs: 50 }, {}, { now: clock.now })
    const tenant = m.app.mock.keys.tenant('acme')!
    const short = m.app.mock.keys.createKey(tenant, { expiresAtMs: clock.now() + 60_000 })
    const s = await open(m, '', {}, { key: short.key, tenantId: tenant.id })
    await publish(m, 'wallet.created')
    await s.waitFor((x) => x.events().length === 1)
    clock.advance(60_000)
    await publish(m, 'wallet.created')
    expect(await s.ended).toBe('end')
    expect(ids(s)).toEqual([1])
    expect((await readRecord(m)).find((e) => e.type === 'drop')).toMatchObject({ reason: 'expired', keyId: short.record.id })
  })

  it('closes a stream whose key expires while nothing is published, within one heartbeat', async () => {
    const clock = fakeClock(Date.now())
    const m = await mock({ heartbeatMs: 200 }, {}, { now: clock.now })
    const tenant = m.app.mock.keys.tenant('acme')!
    const short = m.app.mock.keys.createKey(tenant, { expiresAtMs: clock.now() + 1000 })
    const s = await open(m, '', {}, { key: short.key, tenantId: tenant.id })
    await s.waitFor((x) => x.text().includes(': heartbeat'), 2000, 'a heartbeat')
    clock.advance(1000)
    const t0 = performance.now()
    expect(await s.ended).toBe('end')
    // One heartbeat interval, plus slack for timers on a busy machine.
    expect(performance.now() - t0).toBeLessThan(200 + 300)
  })
})

describe('limits', () => {
  it('answers the stream over the per-key cap with 429 too_many_streams, and frees the slot when a stream closes (5.5)', async () => {
    const m = await mock({}, { rateLimit: { limit: 1_000_000_000, maxStreamsPerKey: 2 } })
    const a = await open(m)
    await open(m)
    const res = await fetch(m.url + '/api/events/stream', { headers: headersFor(m.keys.acme) })
    await expectErrorEnvelope(res, 429, 'too_many_streams')
    // Another key of the same tenant has its own slots.
    const other = await open(m, '', {}, m.keys.globex)
    expect(other.status).toBe(200)
    a.close()
    await a.ended
    await new Promise((resolve) => setTimeout(resolve, 50))
    const again = await open(m)
    expect(again.status).toBe(200)
  })

  it('cuts a stream whose socket does not drain once maxBufferedBytes are buffered, and records it', async () => {
    const m = await mock({ maxBufferedBytes: 64 * 1024 })
    const s = await open(m)
    await s.waitFor((x) => x.text().length > 0)
    const tenantId = m.keys.acme.tenantId
    const big = 'x'.repeat(32 * 1024)
    const { request } = await import('node:http')
    // A second connection that never reads: the kernel buffers fill, then the server's own buffer
    // would grow without bound.
    const stuck = await new Promise<import('node:http').IncomingMessage>((resolve) => {
      const req = request(`${m.url}/api/events/stream`, { headers: headersFor(m.keys.acme) })
      req.on('response', (r) => { r.pause(); resolve(r) })
      req.end()
    })
    let dropped = false
    for (let i = 0; i < 4000 && !dropped; i++) {
      await m.app.mock.events.publish(tenantId, 'wallet.updated', { big })
      // Give the reading client (same process) its turn on the socket.
      await new Promise((resolve) => setImmediate(resolve))
      if (i % 50 === 49) {
        dropped = (await readRecord(m)).some((e) => e.type === 'drop' && e.reason === 'slow-consumer')
      }
    }
    expect(dropped).toBe(true)
    const drops = (await readRecord(m)).filter((e) => e.type === 'drop')
    expect(drops).toHaveLength(1)
    const drop = drops[0]!
    expect(drop.bufferedBytes).toBeGreaterThan(64 * 1024)
    // The stream that reads is not affected.
    await s.waitFor((x) => x.events().length > 0)
    expect(drop.streamId).not.toBe((await readRecord(m)).find((e) => e.type === 'stream')!.streamId)
    stuck.destroy()
  })
})

describe('POST /__harness/events (contract 7.4)', () => {
  it('answers the stored event with its sequence, for a tenant named by id or slug', async () => {
    const m = await mock()
    const a = await publish(m, 'token.transfer.pending', { amount: '1.00' }, 'acme')
    const b = await publish(m, 'token.transfer.confirmed', { amount: '1.00' }, m.keys.acme.tenantId)
    expect([a.seq, b.seq]).toEqual([1, 2])
    expect(b).toMatchObject({ id: 'evt_2', type: 'token.transfer.confirmed', tenantId: m.keys.acme.tenantId, data: { amount: '1.00' } })
  })

  it('refuses an unknown tenant, a wildcard or empty type and unknown fields', async () => {
    const m = await mock()
    const nobody = await control(m, 'POST', '/__harness/events', { tenant: 'nobody', type: 'wallet.created', data: {} })
    expect(nobody.status).toBe(404)
    expect(nobody.body.error.details[0].field).toBe('tenant')
    for (const body of [{ tenant: 'acme', type: 'wallet.*' }, { tenant: 'acme', type: '' }, { tenant: 'acme', type: 'wallet.created', extra: 1 }, { type: 'wallet.created' }]) {
      const r = await control(m, 'POST', '/__harness/events', body)
      expect(r.status, JSON.stringify(body)).toBe(400)
      expect(r.body.error.code).toBe('validation_error')
    }
  })

  it('is guarded like the rest of the control API: the control token is required when set', async () => {
    const m = await mock({}, { controlToken: 'control-token-for-tests' })
    const r = await control(m, 'POST', '/__harness/events', { tenant: 'acme', type: 'wallet.created', data: {} })
    expect(r.status).toBe(401)
    const ok = await control(m, 'POST', '/__harness/events', { tenant: 'acme', type: 'wallet.created', data: {} }, 'control-token-for-tests')
    expect(ok.status).toBe(201)
  })
})

describe('publishing (contract 3.3, 4.5)', () => {
  it('publishes wallet.created with the wallet when one is created', async () => {
    const m = await mock()
    const s = await open(m)
    const res = await fetch(m.url + '/api/wallet/create', { method: 'POST', headers: headersFor(m.keys.acme, { 'content-type': 'application/json' }), body: JSON.stringify({ name: 'ops', type: 'mpc', chain: 'ethereum' }) })
    expect(res.status).toBe(201)
    const wallet = (await res.json() as { data: unknown }).data
    await s.waitFor((x) => x.events().length === 1)
    const b = s.events()[0]!
    expect(b.event).toBe('wallet.created')
    expect(JSON.parse(b.data!).data).toEqual(wallet)
  })

  it('runs a background generator at generatorRate events per second per tenant over the subjects of 4.5', async () => {
    const m = await mock({ generatorRate: 100 })
    const a = await open(m)
    const g = await open(m, '', {}, m.keys.globex)
    await a.waitFor((x) => x.events().length >= 20, 3000, '20 generated events')
    await g.waitFor((x) => x.events().length >= 20, 3000, '20 generated events')
    for (const b of a.events()) expect(EVENT_SUBJECTS as readonly string[]).toContain(b.event)
    const got = ids(a)
    expect(got).toEqual(range(got[0]!, got[0]! + got.length - 1))
  })

  it('generates the same events from the same seed, paced by the clock it is given', async () => {
    const run = (seed: number) => {
      const clock = fakeClock(0)
      const out: Array<[string, string, unknown]> = []
      const gen = createEventGenerator({ rate: 10, seed, now: clock.now, tenants: () => ['t1', 't2'], publish: async (t, s, d) => { out.push([t, s, d]) }, setInterval: () => 0, clearInterval: () => {} })
      gen.start()
      clock.advance(1000); gen.tick()
      clock.advance(250); gen.tick()
      return out
    }
    const a = run(7)
    expect(a).toHaveLength(2 * 12) // 10 in the first second, 2.5 -> 2 in the next quarter, per tenant
    expect(run(7)).toEqual(a)
    expect(run(8)).not.toEqual(a)
    expect(new Set(a.map(([, s]) => s)).size).toBeGreaterThan(3)
  })
})

describe('reset (contract 7.4)', () => {
  it('closes every open stream and forgets retained events', async () => {
    const m = await mock()
    await publishMany(m, 3)
    const s = await open(m)
    const r = await control(m, 'POST', '/__harness/reset')
    expect(r.status).toBe(200)
    expect(await s.ended).toBe('end')
    const k = m.app.mock.keys.createKey(m.app.mock.keys.tenant('acme')!, {})
    const again = await open(m, '?last_event_id=1', {}, { key: k.key, tenantId: m.keys.acme.tenantId })
    await again.waitFor((x) => x.events().length === 1)
    expect(again.events()[0]).toMatchObject({ event: 'stream.gap', data: '{"from":2,"to":3}' })
  })
})
