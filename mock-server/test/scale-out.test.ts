// Three tenzro-mock processes on one real redis-server (limits and shared state) and one real
// nats-server -js (events) behave as one mock: exact limits, one wallet per idempotency key, keys and
// revocations everywhere, resume on another instance, and one merged record.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fakeKey } from './helper.ts'
import { startMockProcess, startMockProcesses, type MockProcess } from './helpers/instances.ts'
import { natsSkipReason, startNatsServer, type NatsServer } from './helpers/nats.ts'
import { redisSkipReason, startRedisServer, type RedisServer } from './helpers/redis.ts'
import { openRaw } from './helpers/sse.ts'

const skip = natsSkipReason() ?? redisSkipReason()
const N = 3
const LIMIT = 30
const acme = { slug: 'acme', id: '00000000-0000-4000-8000-00000000acme'.replace('acme', 'a0c0'), key: fakeKey('acme', 'Scale0ut') }

async function call (url: string, method: string, path: string, opts: { key?: { key: string, tenantId: string }, body?: unknown, headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.key !== undefined) { headers['x-api-key'] = opts.key.key; headers['x-tenant-id'] = opts.key.tenantId }
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(url + path, { method, headers, ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }) })
  const text = await res.text()
  let body: any // eslint-disable-line @typescript-eslint/no-explicit-any
  try { body = JSON.parse(text) } catch { body = text }
  return { status: res.status, body, headers: res.headers }
}

/** Changes reach the other instances through the feed within milliseconds (well within a heartbeat): poll briefly. */
async function eventually<T> (get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 2000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await get()
    if (ok(v) || Date.now() > end) return v
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe.skipIf(skip !== undefined)('scale-out: three instances on one Redis and one JetStream behave as one mock', () => {
  let nats: NatsServer
  let redis: RedisServer
  let m: MockProcess[] = []
  const url = (i: number) => m[i % N]!.url

  beforeAll(async () => {
    ;[nats, redis] = await Promise.all([startNatsServer(), startRedisServer()])
    m = await startMockProcesses(N, {
      logLevel: 'warn',
      walletsPerTenant: 2,
      rateLimit: { store: redis.url, limit: LIMIT, windowMs: 3_600_000 },
      state: { store: redis.url },
      events: { backend: nats.url, heartbeatMs: 200 },
      tenants: [{ slug: acme.slug, id: acme.id, keys: [{ key: acme.key }] }]
    })
  }, 90_000)

  afterAll(async () => {
    await Promise.all(m.map((p) => p.stop()))
    await Promise.all([nats?.stop(), redis?.stop()])
  })

  async function newTenant (on: number): Promise<{ key: string, tenantId: string, keyId: string }> {
    const r = await call(url(on), 'POST', '/__harness/tenants', { body: {} })
    expect(r.status).toBe(201)
    return { key: r.body.data.key.key, tenantId: r.body.data.tenant.id, keyId: r.body.data.key.id }
  }

  it('admits exactly the limit across instances (limit + 0)', async () => {
    const k = await newTenant(0)
    const statuses = await Promise.all(Array.from({ length: LIMIT + 20 }, (_, i) => call(url(i), 'GET', '/api/wallet/list', { key: k }).then((r) => r.status)))
    expect(statuses.filter((s) => s === 200)).toHaveLength(LIMIT)
    expect(statuses.filter((s) => s === 429)).toHaveLength(20)
  })

  it('a tenant and key made on one instance work on every instance at once', async () => {
    for (let on = 0; on < N; on++) {
      const k = await newTenant(on)
      for (let i = 0; i < N; i++) {
        const r = await call(url(on + i), 'GET', '/api/wallet/list', { key: k })
        expect(r.status, `key made on ${on}, used on ${(on + i) % N}`).toBe(200)
      }
      const made = await call(url(on + 1), 'POST', '/__harness/keys', { body: { tenant: k.tenantId } })
      expect(made.status).toBe(201)
      expect((await call(url(on + 2), 'GET', '/api/wallet/list', { key: { key: made.body.data.key, tenantId: k.tenantId } })).status).toBe(200)
    }
  })

  it('creates one wallet for concurrent duplicates spread over the instances, and every instance lists it', async () => {
    const k = await newTenant(1)
    const body = { name: 'Scale', type: 'mpc', chain: 'ethereum' }
    const rs = await Promise.all(Array.from({ length: 9 }, (_, i) => call(url(i), 'POST', '/api/wallet/create', { key: k, body, headers: { 'x-idempotency-key': 'dup-1' } })))
    const created = rs.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') !== 'true')
    expect(created, JSON.stringify(rs.map((r) => [r.status, r.headers.get('idempotent-replayed'), r.body]))).toHaveLength(1)
    for (const r of rs) expect([201, 409]).toContain(r.status)
    const id = created[0]!.body.data?.id as string
    expect(id, JSON.stringify(created[0]!.body)).toMatch(/^wal_/)
    for (const r of rs.filter((x) => x.status === 201)) expect(r.body.data.id).toBe(id)
    // A retry after the first answered replays it on every instance.
    for (let i = 0; i < N; i++) {
      const again = await call(url(i), 'POST', '/api/wallet/create', { key: k, body, headers: { 'x-idempotency-key': 'dup-1' } })
      expect(again.status).toBe(201)
      expect(again.headers.get('idempotent-replayed')).toBe('true')
      expect(again.body.data.id).toBe(id)
    }
    for (let i = 0; i < N; i++) {
      const list = await call(url(i), 'GET', '/api/wallet/list', { key: k })
      expect(list.body.data.filter((w: { name: string }) => w.name === 'Scale').map((w: { id: string }) => w.id)).toEqual([id])
    }
  })

  it('lists wallets made at once on every instance in one order, so a cursor from one instance pages on another', async () => {
    const k = await newTenant(2)
    const made = await Promise.all(Array.from({ length: 9 }, (_, i) => call(url(i), 'POST', '/api/wallet/create', { key: k, body: { name: `W${i}`, type: 'single', chain: 'solana' } })))
    for (const r of made) expect(r.status).toBe(201)
    const lists = await Promise.all([0, 1, 2].map((i) => eventually(() => call(url(i), 'GET', '/api/wallet/list?limit=100', { key: k }), (r) => r.body.data.length === 11)))
    const ids = lists.map((r) => r.body.data.map((w: { id: string }) => w.id))
    expect(ids[0]).toHaveLength(11)
    expect(ids[1]).toEqual(ids[0])
    expect(ids[2]).toEqual(ids[0])
    const paged: string[] = []
    let cursor: string | null = null
    for (let page = 0; page < 3; page++) {
      const q: string = cursor === null ? '' : `&cursor=${cursor}`
      const r = await call(url(page), 'GET', `/api/wallet/list?limit=4${q}`, { key: k })
      expect(r.status).toBe(200)
      paged.push(...r.body.data.map((w: { id: string }) => w.id))
      cursor = r.body.meta.cursor
    }
    expect(cursor).toBeNull()
    expect(paged).toEqual(ids[0])
  })

  it('revocation on one instance refuses the key and closes its streams on every instance', async () => {
    const k = await newTenant(2)
    const streams = await Promise.all([0, 1, 2].map((i) => openRaw(`${url(i)}/api/events/stream`, { 'x-api-key': k.key, 'x-tenant-id': k.tenantId })))
    for (const s of streams) await s.waitFor((r) => r.text().includes('retry:'), 10_000, 'retry:')
    const del = await call(url(0), 'DELETE', `/__harness/keys/${k.keyId}`)
    expect(del.status).toBe(200)
    const ends = await Promise.all(streams.map((s) => Promise.race([s.ended, new Promise((resolve) => setTimeout(() => resolve('open'), 5000))])))
    expect(ends).toEqual(['end', 'end', 'end'])
    for (let i = 0; i < N; i++) {
      const r = await eventually(() => call(url(i), 'GET', '/api/wallet/list', { key: k }), (x) => x.status === 401)
      expect(r.status).toBe(401)
      expect(r.body.error.code).toBe('revoked_api_key')
    }
  })

  it('a client resuming on another instance continues at Last-Event-ID + 1', async () => {
    const k = await newTenant(0)
    const pub = (i: number) => call(url(i), 'POST', '/__harness/events', { body: { tenant: k.tenantId, type: 'wallet.updated', data: { i } } })
    const first = await openRaw(`${url(0)}/api/events/stream`, { 'x-api-key': k.key, 'x-tenant-id': k.tenantId })
    await first.waitFor((r) => r.text().includes('retry:'), 10_000, 'retry:')
    for (let i = 0; i < 10; i++) expect((await pub(i)).status).toBe(201)
    await first.waitFor((r) => r.events().length >= 10, 10_000, '10 events')
    first.close()
    const lastId = first.events()[4]!.id!
    for (let i = 10; i < 15; i++) await pub(i)
    for (const on of [1, 2]) {
      const s = await openRaw(`${url(on)}/api/events/stream`, { 'x-api-key': k.key, 'x-tenant-id': k.tenantId, 'last-event-id': lastId })
      await s.waitFor((r) => r.events().length >= 10, 10_000, 'resumed events')
      expect(s.events().map((b) => Number(b.id))).toEqual(Array.from({ length: 10 }, (_, i) => Number(lastId) + 1 + i))
      s.close()
    }
  })

  it('--workers 2 serves one port with two processes that join the same shared state', async () => {
    const w = await startMockProcess({
      logLevel: 'warn',
      walletsPerTenant: 2,
      rateLimit: { store: redis.url, limit: LIMIT, windowMs: 3_600_000 },
      state: { store: redis.url },
      events: { backend: nats.url },
      tenants: [{ slug: acme.slug, id: acme.id, keys: [{ key: acme.key }] }]
    }, ['--workers', '2'])
    try {
      // A key made on one of the three instances works through the workers' port.
      const k = await newTenant(0)
      const before = Number((await call(w.url, 'GET', '/__harness/record/stats')).body.data.lastSeq)
      for (let i = 0; i < 8; i++) expect((await call(w.url, 'GET', '/api/wallet/list', { key: k })).status).toBe(200)
      let served = new Set<string>()
      for (let t = 0; t < 50 && served.size < 2; t++) {
        const text = await fetch(`${w.url}/__harness/record?after=${before}`).then((r) => r.text())
        served = new Set(text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string, keyId?: string, instance: string }).filter((e) => e.type === 'request' && e.keyId === k.keyId).map((e) => e.instance))
        if (served.size < 2) await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(served.size).toBe(2)
    } finally {
      await w.stop()
    }
    expect(w.child.exitCode).toBe(0)
  })

  it('caps a key\'s concurrent streams over all instances (contract 5.5)', async () => {
    const k = await newTenant(0)
    const h = { 'x-api-key': k.key, 'x-tenant-id': k.tenantId }
    const open = await Promise.all(Array.from({ length: 5 }, (_, i) => openRaw(`${url(i)}/api/events/stream`, h)))
    expect(open.map((s) => s.status)).toEqual([200, 200, 200, 200, 200])
    for (let i = 0; i < N; i++) {
      const sixth = await openRaw(`${url(i)}/api/events/stream`, h)
      expect(sixth.status, `instance ${i}`).toBe(429)
      expect(((await sixth.json()) as { error: { code: string } }).error.code).toBe('too_many_streams')
    }
    open[0]!.close()
    const again = await eventually(async () => {
      const s = await openRaw(`${url(2)}/api/events/stream`, h)
      if (s.status !== 200) await s.ended
      return s
    }, (s) => s.status === 200)
    expect(again.status).toBe(200)
    again.close()
    for (const s of open) s.close()
  })

  it('a fault plan set on one instance applies on every instance', async () => {
    const k = await newTenant(0)
    const put = await call(url(0), 'PUT', '/__harness/faults', { body: { faults: [{ type: 'error', status: 503, retryAfterS: 2, scope: { tenant: k.tenantId } }] } })
    expect(put.status).toBe(200)
    try {
      for (let i = 0; i < N; i++) {
        const got = await call(url(i), 'GET', '/__harness/faults')
        expect(got.body.data.faults).toHaveLength(1)
        const r = await eventually(() => call(url(i), 'GET', '/api/wallet/list', { key: k }), (x) => x.status === 503)
        expect(r.status, `instance ${i}`).toBe(503)
        expect(r.headers.get('retry-after')).toBe('2')
      }
    } finally {
      expect((await call(url(1), 'DELETE', '/__harness/faults')).status).toBe(200)
    }
    for (let i = 0; i < N; i++) expect((await eventually(() => call(url(i), 'GET', '/api/wallet/list', { key: k }), (x) => x.status === 200)).status).toBe(200)
  })

  it('counts a plan\'s faults over all instances: after and times hold in all, not per instance', async () => {
    const k = await newTenant(1)
    const h = { 'x-api-key': k.key, 'x-tenant-id': k.tenantId }
    const put = await call(url(2), 'PUT', '/__harness/faults', { body: { faults: [
      { id: 'e', type: 'error', status: 500, after: 2, times: 3, scope: { tenant: k.tenantId, route: 'GET /api/wallet/list' } },
      { id: 'r', type: 'sse-reject', status: 429, times: 2, scope: { tenant: k.tenantId } }
    ] } })
    expect(put.status).toBe(200)
    try {
      // Every instance has the plan before the requests start.
      for (let i = 0; i < N; i++) expect((await call(url(i), 'GET', '/__harness/faults')).body.data.faults).toHaveLength(2)
      const statuses: number[] = []
      for (let i = 0; i < 12; i++) statuses.push((await call(url(i), 'GET', '/api/wallet/list', { key: k })).status)
      expect(statuses).toEqual([200, 200, 500, 500, 500, 200, 200, 200, 200, 200, 200, 200])
      const streams: number[] = []
      for (let i = 0; i < 4; i++) {
        const s = await openRaw(`${url(i)}/api/events/stream`, h)
        streams.push(s.status)
        s.close()
      }
      expect(streams).toEqual([429, 429, 200, 200])
      for (let i = 0; i < N; i++) {
        const stats = (await call(url(i), 'GET', '/__harness/faults')).body.data.stats
        expect(stats).toEqual([{ id: 'e', type: 'error', seen: 12, applied: 3 }, { id: 'r', type: 'sse-reject', seen: 4, applied: 2 }])
      }
    } finally {
      await call(url(0), 'DELETE', '/__harness/faults')
    }
  })

  it('a create whose response was lost, retried on another instance, is replayed there: one wallet', async () => {
    const k = await newTenant(0)
    await call(url(0), 'PUT', '/__harness/faults', { body: { faults: [{ type: 'lost-response', times: 1, scope: { tenant: k.tenantId } }] } })
    try {
      const body = { name: 'Lost', type: 'mpc', chain: 'ethereum' }
      const headers = { 'x-idempotency-key': 'lost-1' }
      await expect(call(url(0), 'POST', '/api/wallet/create', { key: k, body, headers })).rejects.toThrow()
      const retry = await call(url(1), 'POST', '/api/wallet/create', { key: k, body, headers })
      expect(retry.status).toBe(201)
      expect(retry.headers.get('idempotent-replayed')).toBe('true')
      for (let i = 0; i < N; i++) {
        const list = await eventually(() => call(url(i), 'GET', '/api/wallet/list', { key: k }), (r) => r.body.data.some((w: { name: string }) => w.name === 'Lost'))
        expect(list.body.data.filter((w: { name: string }) => w.name === 'Lost').map((w: { id: string }) => w.id)).toEqual([retry.body.data.id])
      }
    } finally {
      await call(url(0), 'DELETE', '/__harness/faults')
    }
  })

  it('the control API of any instance returns the merged record, complete and in order', async () => {
    const k = await newTenant(0)
    const before = Number((await fetch(url(0) + '/__harness/record/stats').then((r) => r.json()) as { data: { lastSeq: number } }).data.lastSeq)
    const ids: string[] = []
    for (let i = 0; i < 30; i++) {
      const r = await call(url(i), 'GET', '/api/wallet/list', { key: k, headers: { 'x-request-id': `scale-${i}` } })
      expect(r.status).toBe(200)
      ids.push(`scale-${i}`)
    }
    const read = async (on: number) => {
      const text = await fetch(`${url(on)}/__harness/record?after=${before}`).then((r) => r.text())
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { seq: number, type: string, requestId?: string, instance: string })
    }
    // The last request's entry is written when its response has ended: give it a moment to arrive.
    let entries = await read(1)
    for (let t = 0; t < 50 && entries.filter((e) => e.type === 'request' && ids.includes(e.requestId!)).length < 30; t++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      entries = await read(1)
    }
    const mine = entries.filter((e) => e.type === 'request' && ids.includes(e.requestId!))
    // Complete, each once; each instance's entries in the order it served them. Entries of different
    // instances are in the order they reached Redis (a request's entry is written when it has ended).
    expect(mine.map((e) => e.requestId).sort()).toEqual([...ids].sort())
    expect(new Set(mine.map((e) => e.instance)).size).toBe(N)
    for (const inst of new Set(mine.map((e) => e.instance))) {
      const served = mine.filter((e) => e.instance === inst).map((e) => Number(e.requestId!.slice(6)))
      expect(served).toEqual([...served].sort((a, b) => a - b))
    }
    const seqs = entries.map((e) => e.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)
    // Every instance reads the same record (the reads are recorded too, so it may have grown since).
    expect((await read(2)).map((e) => e.seq).slice(0, seqs.length)).toEqual(seqs)
  })

  it('a reset on one instance resets every instance (runs last)', async () => {
    const k = await newTenant(0)
    expect((await call(url(2), 'GET', '/api/wallet/list', { key: k })).status).toBe(200)
    expect((await call(url(1), 'POST', '/__harness/reset')).status).toBe(200)
    for (let i = 0; i < N; i++) {
      const r = await eventually(() => call(url(i), 'GET', '/api/wallet/list', { key: k }), (x) => x.status === 401)
      expect(r.status, `instance ${i}`).toBe(401)
      // The fixture key of the config is back on every instance, with the same id.
      expect((await call(url(i), 'GET', '/api/wallet/list', { key: { key: acme.key, tenantId: acme.id } })).status).toBe(200)
    }
  })
})
