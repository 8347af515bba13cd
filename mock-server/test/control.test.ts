// The control API (contract 7.1, 7.4) through a real socket: every call of the table with its answer
// shape, the control token, fault plan validation, the request record (7.3, 6.2) and reset.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { control, expectErrorEnvelope, headersFor, jsonOf, postJson, QUIET, readRecord, startMock, type TestMock } from './helper.ts'

const WALLET = { name: 'Escrow', type: 'single', chain: 'solana' }
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const KEY_ID_RE = /^key_[A-Za-z0-9]{16}$/

function expectEnvelope (body: { data: unknown, meta: { requestId: string, timestamp: string } }) {
  expect(Object.keys(body).sort()).toEqual(['data', 'meta'])
  expect(typeof body.meta.requestId).toBe('string')
  expect(new Date(body.meta.timestamp).toISOString()).toBe(body.meta.timestamp)
}

async function listIds (m: { url: string }, k: { key: string, tenantId: string }): Promise<string[]> {
  const res = await fetch(`${m.url}/api/wallet/list?limit=100`, { headers: headersFor(k) })
  expect(res.status).toBe(200)
  return ((await jsonOf(res)).data as Array<{ id: string }>).map((w) => w.id)
}

describe('control API calls and answers (contract 7.4)', () => {
  let m: TestMock
  beforeAll(async () => { m = await startMock(QUIET) })
  afterAll(async () => { await m.close() })

  it('POST /__harness/tenants creates a tenant and its first key, which works at once', async () => {
    const r = await control(m, 'POST', '/__harness/tenants', {})
    expect(r.status).toBe(201)
    expectEnvelope(r.body)
    const { tenant, key } = r.body.data
    expect(Object.keys(r.body.data).sort()).toEqual(['key', 'tenant'])
    expect(tenant.id).toMatch(UUID_RE)
    expect(tenant.slug).toMatch(/^[a-z0-9]{1,32}$/)
    expect(key.id).toMatch(KEY_ID_RE)
    expect(key.key).toMatch(new RegExp(`^tnz_${tenant.slug}_[A-Za-z0-9_-]{43}$`))
    for (const tenantHeader of [tenant.id, tenant.slug]) {
      const ids = await listIds(m, { key: key.key, tenantId: tenantHeader })
      expect(ids.length).toBeGreaterThan(0)
      const acme = new Set(await listIds(m, m.keys.acme))
      expect(ids.some((id) => acme.has(id))).toBe(false)
    }
    const named = await control(m, 'POST', '/__harness/tenants', { slug: 'initech', rateLimit: 5 })
    expect(named.status).toBe(201)
    expect(named.body.data.tenant.slug).toBe('initech')
    expect(named.body.data.key.key.startsWith('tnz_initech_')).toBe(true)
    for (const [body, field] of [[{ slug: 'initech' }, 'slug'], [{ slug: 'Not-A-Slug' }, 'slug'], [{ rateLimit: 0 }, 'rateLimit'], [{ colour: 'red' }, 'colour']] as const) {
      const bad = await control(m, 'POST', '/__harness/tenants', body)
      expect(bad.status).toBe(400)
      expect(bad.body.error.code).toBe('validation_error')
      expect(bad.body.error.details.map((d: { field: string }) => d.field)).toContain(field)
    }
  })

  it('POST /__harness/keys creates a key for a tenant by id or slug, with every non-admin scope by default', async () => {
    for (const tenant of ['globex', m.keys.globex.tenantId]) {
      const r = await control(m, 'POST', '/__harness/keys', { tenant })
      expect(r.status).toBe(201)
      expectEnvelope(r.body)
      expect(Object.keys(r.body.data).sort()).toEqual(['id', 'key'])
      expect(r.body.data.id).toMatch(KEY_ID_RE)
      expect(r.body.data.key).toMatch(/^tnz_globex_[A-Za-z0-9_-]{43}$/)
      const v = await fetch(`${m.url}/api/keys/validate`, { headers: { 'x-api-key': r.body.data.key } })
      const vb = await jsonOf(v)
      expect(vb).toMatchObject({ valid: true, tenantId: m.keys.globex.tenantId })
      expect([...vb.scopes].sort()).toEqual(['events:read', 'wallet:read', 'wallet:write'])
    }
    const limited = await control(m, 'POST', '/__harness/keys', { tenant: 'acme', scopes: ['wallet:read'], rateLimit: 7, expiresAt: new Date(Date.now() + 3_600_000).toISOString() })
    expect(limited.status).toBe(201)
    const v = await jsonOf(await fetch(`${m.url}/api/keys/validate`, { headers: { 'x-api-key': limited.body.data.key } }))
    expect(v.scopes).toEqual(['wallet:read'])
    expect(v.rateLimit.limit).toBe(7)
    const unknown = await control(m, 'POST', '/__harness/keys', { tenant: 'nosuch' })
    expect(unknown.status).toBe(404)
    expect(unknown.body.error.details[0].field).toBe('tenant')
    const bad = await control(m, 'POST', '/__harness/keys', { scopes: ['wallet:fly'], expiresAt: 'tomorrow' })
    expect(bad.status).toBe(400)
    expect(bad.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['expiresAt', 'scopes', 'tenant'])
  })

  it('DELETE /__harness/keys/:id revokes the key at once and answers {id, revokedAt}', async () => {
    const k = await control(m, 'POST', '/__harness/keys', { tenant: 'acme' })
    const key = { key: k.body.data.key as string, tenantId: m.keys.acme.tenantId }
    expect((await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(key) })).status).toBe(200)
    const r = await control(m, 'DELETE', `/__harness/keys/${k.body.data.id}`)
    expect(r.status).toBe(200)
    expectEnvelope(r.body)
    expect(Object.keys(r.body.data).sort()).toEqual(['id', 'revokedAt'])
    expect(r.body.data.id).toBe(k.body.data.id)
    expect(new Date(r.body.data.revokedAt).toISOString()).toBe(r.body.data.revokedAt)
    await expectErrorEnvelope(await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(key) }), 401, 'revoked_api_key')
    // The other tenant's key and acme's other key are untouched.
    expect((await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(m.keys.acme) })).status).toBe(200)
    expect((await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(m.keys.globex) })).status).toBe(200)
    expect((await control(m, 'DELETE', '/__harness/keys/key_AAAAAAAAAAAAAAAA')).status).toBe(404)
  })

  it('PUT, GET and DELETE /__harness/faults store, show and clear the plan', async () => {
    const plan = { seed: 42, faults: [{ id: 'slow', type: 'latency', ms: 5, scope: { tenant: 'acme' } }, { type: 'error', status: 503, probability: 0 }] }
    const put = await control(m, 'PUT', '/__harness/faults', plan)
    expect(put.status).toBe(200)
    expectEnvelope(put.body)
    expect(put.body.data).toEqual(plan)
    const get = await control(m, 'GET', '/__harness/faults')
    expect(get.body.data).toMatchObject(plan)
    expect(get.body.data.stats.map((s: { id: string }) => s.id)).toEqual(['slow', 'error#1'])
    const del = await control(m, 'DELETE', '/__harness/faults')
    expect(del.status).toBe(200)
    expectEnvelope(del.body)
    expect(del.body.data).toEqual({})
    expect((await control(m, 'GET', '/__harness/faults')).body.data.faults).toEqual([])
  })

  it('POST /__harness/events stores an event for the tenant and answers it with its sequence', async () => {
    const r = await control(m, 'POST', '/__harness/events', { tenant: 'globex', type: 'wallet.updated', data: { id: 'wal_x' } })
    expect(r.status).toBeLessThan(300)
    expectEnvelope(r.body)
    expect(Number.isInteger(r.body.data.seq)).toBe(true)
    expect(r.body.data.seq).toBeGreaterThan(0)
  })

  it('refuses bad fault plans with 400 validation_error naming each bad field', async () => {
    const cases: Array<[unknown, string[]]> = [
      [[], ['body']],
      [{}, ['faults']],
      [{ faults: [], extra: 1 }, ['extra']],
      [{ seed: -1, faults: [] }, ['seed']],
      [{ faults: [{ type: 'meteor' }] }, ['faults[0].type']],
      [{ faults: [{ type: 'latency' }] }, ['faults[0].minMs', 'faults[0].maxMs']],
      [{ faults: [{ type: 'latency', minMs: 50, maxMs: 10 }] }, ['faults[0].maxMs']],
      [{ faults: [{ type: 'error', status: 404 }] }, ['faults[0].status']],
      [{ faults: [{ type: 'error', status: 500, probability: 2, times: 0, after: -1 }] }, ['faults[0].probability', 'faults[0].times', 'faults[0].after']],
      [{ faults: [{ type: 'latency', ms: 5, scope: { key: 'tnz_acme_x', route: 'wallet' } }] }, ['faults[0].scope.key', 'faults[0].scope.route']],
      [{ faults: [{ type: 'latency', ms: 5, status: 500 }] }, ['faults[0].status']],
      [{ faults: [{ type: 'latency', ms: 5 }, { type: 'slow-body', chunkBytes: 0 }] }, ['faults[1].chunkBytes']]
    ]
    for (const [plan, fields] of cases) {
      const r = await fetch(`${m.url}/__harness/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(plan) })
      const body = await expectErrorEnvelope(r, 400, 'validation_error')
      expect(body.error.details.map((d) => d.field).sort(), JSON.stringify(plan)).toEqual([...fields].sort())
    }
    // None of them replaced the plan in force.
    expect((await control(m, 'GET', '/__harness/faults')).body.data.faults).toEqual([])
  })

  it('GET /__harness/record?after=N answers NDJSON of the entries after N, oldest first', async () => {
    const all = await readRecord(m)
    expect(all.length).toBeGreaterThan(10)
    const res = await fetch(`${m.url}/__harness/record?after=${all[4]!.seq}`)
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/)
    const text = await res.text()
    expect(text.endsWith('\n')).toBe(true)
    const after = text.trim().split('\n').map((l) => JSON.parse(l))
    expect(after[0]!.seq).toBe(all[5]!.seq)
    expect(after.every((e) => e.seq > all[4]!.seq)).toBe(true)
    const seqs = after.map((e) => e.seq)
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs)
    expect(await readRecord(m, all.at(-1)!.seq + 1000)).toEqual([])
    const bad = await fetch(`${m.url}/__harness/record?after=-1`)
    expect((await expectErrorEnvelope(bad, 400, 'validation_error')).error.details[0]!.field).toBe('after')
  })

  it('refuses control calls from a non-loopback address (7.1; through inject, which can set the address)', async () => {
    const r = await m.app.inject({ method: 'GET', url: '/__harness/faults', remoteAddress: '10.1.2.3' })
    expect(r.statusCode).toBe(403)
    expect(r.json().error.code).toBe('insufficient_scope')
  })
})

describe('the request record (contract 7.3, 6.2)', () => {
  let m: TestMock
  beforeAll(async () => { m = await startMock(QUIET) })
  afterAll(async () => { await m.close() })

  it('holds every request once, with timing, key id, tenant, status, idempotency key and faults applied', async () => {
    await control(m, 'PUT', '/__harness/faults', { faults: [{ id: 'acme-slow', type: 'latency', ms: 1, scope: { tenant: 'acme', route: 'GET /api/wallet/list' } }] })
    const sent: Array<{ rid: string, expect: Record<string, unknown> }> = []
    const go = async (rid: string, res: Promise<Response>, expected: Record<string, unknown>) => {
      await (await res).arrayBuffer()
      sent.push({ rid, expect: expected })
    }
    const with_ = (k: { key: string, tenantId: string }, rid: string, extra: Record<string, string> = {}) => headersFor(k, { 'x-request-id': rid, ...extra })
    await go('r-acme-list', fetch(`${m.url}/api/wallet/list?limit=3`, { headers: with_(m.keys.acme, 'r-acme-list') }), { status: 200, tenant: m.keys.acme.tenantId, keyId: m.keys.acme.id, faults: ['acme-slow'], route: '/api/wallet/list', auth: 'ok' })
    await go('r-globex-list', fetch(`${m.url}/api/wallet/list`, { headers: with_(m.keys.globex, 'r-globex-list') }), { status: 200, tenant: m.keys.globex.tenantId, keyId: m.keys.globex.id, faults: null })
    await go('r-create-idem', postJson(m, '/api/wallet/create', m.keys.globex, WALLET, { 'x-request-id': 'r-create-idem', 'x-idempotency-key': 'idem-77' }), { status: 201, idempotencyKey: 'idem-77', idempotency: 'stored', method: 'POST' })
    await go('r-create-replay', postJson(m, '/api/wallet/create', m.keys.globex, WALLET, { 'x-request-id': 'r-create-replay', 'x-idempotency-key': 'idem-77' }), { status: 201, idempotencyKey: 'idem-77', idempotency: 'replayed' })
    await go('r-create-noidem', postJson(m, '/api/wallet/create', m.keys.acme, WALLET, { 'x-request-id': 'r-create-noidem' }), { status: 201, idempotencyKey: null, idempotency: 'missing' })
    await go('r-mismatch', fetch(`${m.url}/api/wallet/list`, { headers: with_({ key: m.keys.acme.key, tenantId: 'globex' }, 'r-mismatch') }), { status: 403, code: 'tenant_mismatch', keyId: m.keys.acme.id, auth: 'refused' })
    await go('r-missing', fetch(`${m.url}/api/wallet/list`, { headers: { 'x-request-id': 'r-missing' } }), { status: 401, code: 'missing_api_key', keyId: null, auth: 'refused' })
    await go('r-404', fetch(`${m.url}/nowhere`, { headers: { 'x-request-id': 'r-404' } }), { status: 404, code: 'not_found', route: null })
    await go('r-health', fetch(`${m.url}/health`, { headers: { 'x-request-id': 'r-health' } }), { status: 200, tenant: null, keyId: null })
    const record = await readRecord(m)
    for (const s of sent) {
      const entries = record.filter((e) => e.requestId === s.rid)
      expect(entries, s.rid).toHaveLength(1)
      const e = entries[0]!
      expect(e, s.rid).toMatchObject(s.expect)
      expect(e.type).toBe('request')
      expect(typeof e.durationMs).toBe('number')
      expect(e.durationMs).toBeGreaterThanOrEqual(0)
      expect(Number.isInteger(e.ts)).toBe(true)
      for (const field of ['method', 'route', 'path', 'status', 'tenant', 'keyId', 'auth', 'code', 'idempotencyKey', 'idempotency', 'faults', 'lostResponse', 'ip']) expect(e, `${s.rid}.${field}`).toHaveProperty(field)
    }
    // The faulted request was measurably delayed, and no entry holds a key.
    const text = JSON.stringify(record)
    for (const k of [m.keys.acme.key, m.keys.globex.key]) expect(text).not.toContain(k.slice(9))
    // Record entries are in sequence order with no duplicates.
    const seqs = record.map((e) => e.seq)
    expect(new Set(seqs).size).toBe(seqs.length)
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs)
  })
})

describe('the control token (contract 7.4)', () => {
  const token = 'harness-token-for-tests'
  let m: TestMock
  beforeAll(async () => { m = await startMock({ ...QUIET, controlToken: token }) })
  afterAll(async () => { await m.close() })

  const calls: Array<[string, string, unknown?]> = [
    ['POST', '/__harness/tenants', {}],
    ['POST', '/__harness/keys', { tenant: 'acme' }],
    ['DELETE', '/__harness/keys/key_AAAAAAAAAAAAAAAA'],
    ['PUT', '/__harness/faults', { faults: [] }],
    ['GET', '/__harness/faults'],
    ['DELETE', '/__harness/faults'],
    ['POST', '/__harness/events', { tenant: 'acme', type: 'wallet.created', data: {} }],
    ['GET', '/__harness/record'],
    ['GET', '/__harness/record?after=1'],
    ['POST', '/__harness/reset']
  ]

  it('refuses every control call without the token or with a wrong one, and serves it with the right one', async () => {
    for (const [method, path, body] of calls) {
      for (const given of [undefined, 'wrong-token-value', token.slice(0, -1), token + 'x']) {
        const r = await fetch(m.url + path, { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(given === undefined ? {} : { 'x-harness-token': given }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
        const e = await expectErrorEnvelope(r, 401, 'invalid_api_key')
        expect(e.error.details.map((d) => d.field), `${method} ${path}`).toEqual(['X-Harness-Token'])
      }
      const ok = await control(m, method, path, body, token)
      expect(ok.status, `${method} ${path}`).toBeLessThan(method === 'DELETE' && path.includes('/keys/') ? 405 : 300)
    }
  })

  it('does not ask API routes for the control token', async () => {
    await control(m, 'POST', '/__harness/reset', undefined, token)
    expect((await fetch(`${m.url}/health`)).status).toBe(200)
  })
})

describe('POST /__harness/reset (contract 7.4)', () => {
  it('goes back to the seeded start: tenants, keys, wallets, faults and record', async () => {
    const m = await startMock(QUIET)
    try {
      const seeded = { acme: await listIds(m, m.keys.acme), globex: await listIds(m, m.keys.globex) }
      const tenants = (await control(m, 'GET', '/__harness/tenants')).body.data.map((t: { id: string, slug: string }) => ({ id: t.id, slug: t.slug }))
      const extra = await control(m, 'POST', '/__harness/tenants', { slug: 'umbrella' })
      await postJson(m, '/api/wallet/create', m.keys.acme, WALLET, { 'x-idempotency-key': 'before-reset' })
      await control(m, 'PUT', '/__harness/faults', { faults: [{ type: 'latency', ms: 1 }] })
      expect(await listIds(m, m.keys.acme)).not.toEqual(seeded.acme)

      const r = await control(m, 'POST', '/__harness/reset')
      expect(r.status).toBe(200)
      expectEnvelope(r.body)
      expect(r.body.data).toEqual({})

      // Keys made after the start are gone, the new tenant too; the seeded tenants are back as they were.
      await expectErrorEnvelope(await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(m.keys.acme) }), 401, 'invalid_api_key')
      await expectErrorEnvelope(await fetch(`${m.url}/api/wallet/list`, { headers: { 'x-api-key': extra.body.data.key.key, 'x-tenant-id': 'umbrella' } }), 401, 'invalid_api_key')
      expect((await control(m, 'GET', '/__harness/tenants')).body.data.map((t: { id: string, slug: string }) => ({ id: t.id, slug: t.slug }))).toEqual(tenants)
      const acme = (await control(m, 'POST', '/__harness/keys', { tenant: 'acme' })).body.data.key
      const globex = (await control(m, 'POST', '/__harness/keys', { tenant: 'globex' })).body.data.key
      expect(await listIds(m, { key: acme, tenantId: 'acme' })).toEqual(seeded.acme)
      expect(await listIds(m, { key: globex, tenantId: 'globex' })).toEqual(seeded.globex)
      expect((await control(m, 'GET', '/__harness/faults')).body.data.faults).toEqual([])
      // The idempotency key is forgotten: the same key creates a new wallet.
      const again = await postJson(m, '/api/wallet/create', { key: acme, tenantId: 'acme' }, WALLET, { 'x-idempotency-key': 'before-reset' })
      expect(again.headers.get('idempotent-replayed')).toBeNull()
      // The record starts over (sequence numbers keep counting, so readers' `after` stays valid).
      const rec = await readRecord(m)
      expect(rec.every((e) => e.path !== '/__harness/tenants' || e.method !== 'POST')).toBe(true)
      const stats = (await control(m, 'GET', '/__harness/record/stats')).body.data
      expect(stats.retained).toBe(rec.length + 1)
    } finally {
      await m.close()
    }
  })
})
