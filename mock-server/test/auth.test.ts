// Authentication (contract 1.2, 2.1-2.5) through a real socket, with both tenants: which header wins,
// tenant by id or slug, expiry on a fake clock, revocation and rotation, scopes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { control, expectErrorEnvelope, fakeClock, fakeKey, headersFor, jsonOf, postJson, QUIET, startMock, type TestMock } from './helper.ts'

type Key = { id: string, key: string, tenantId: string }
const WALLET = { name: 'Settlement', type: 'single', chain: 'ethereum' }

describe('API key authentication (contract 2)', () => {
  const clock = fakeClock()
  let m: TestMock
  const mk = async (tenant: 'acme' | 'globex', body: Record<string, unknown> = {}): Promise<Key> => {
    const r = await control(m, 'POST', '/__harness/keys', { tenant, ...body })
    expect(r.status, JSON.stringify(r.body)).toBe(201)
    return { id: r.body.data.id, key: r.body.data.key, tenantId: m.keys[tenant].tenantId }
  }
  const status = async (p: Promise<Response>) => { const r = await p; await r.arrayBuffer(); return r.status }
  const list = (headers: Record<string, string>) => fetch(`${m.url}/api/wallet/list?limit=1`, { headers })

  beforeAll(async () => { m = await startMock(QUIET, { now: clock.now }) })
  afterAll(async () => { await m.close() })

  it('accepts the key in X-API-Key or Authorization: Bearer, and X-API-Key wins when both are sent (1.2)', async () => {
    for (const slug of ['acme', 'globex'] as const) {
      const k = m.keys[slug]
      const other = m.keys[slug === 'acme' ? 'globex' : 'acme']
      expect(await status(list({ 'x-api-key': k.key, 'x-tenant-id': k.tenantId }))).toBe(200)
      expect(await status(list({ authorization: `Bearer ${k.key}`, 'x-tenant-id': k.tenantId }))).toBe(200)
      expect(await status(list({ authorization: `bearer ${k.key}`, 'x-tenant-id': k.tenantId }))).toBe(200)
      // X-API-Key wins: a good one with a bad Bearer passes, a bad one with a good Bearer does not.
      expect(await status(list({ 'x-api-key': k.key, authorization: `Bearer ${fakeKey(slug)}`, 'x-tenant-id': k.tenantId }))).toBe(200)
      await expectErrorEnvelope(await list({ 'x-api-key': fakeKey(slug), authorization: `Bearer ${k.key}`, 'x-tenant-id': k.tenantId }), 401, 'invalid_api_key')
      // The other tenant's key in X-API-Key decides, so the tenant header no longer matches.
      await expectErrorEnvelope(await list({ 'x-api-key': other.key, authorization: `Bearer ${k.key}`, 'x-tenant-id': k.tenantId }), 403, 'tenant_mismatch')
      // Other schemes are not a key.
      await expectErrorEnvelope(await list({ authorization: `Basic ${Buffer.from(k.key).toString('base64')}`, 'x-tenant-id': k.tenantId }), 401, 'missing_api_key')
    }
  })

  it('takes the tenant by id or slug, in any header case, and refuses another tenant\'s (2.2)', async () => {
    for (const slug of ['acme', 'globex'] as const) {
      const k = m.keys[slug]
      const other = m.keys[slug === 'acme' ? 'globex' : 'acme']
      for (const t of [k.tenantId, slug]) {
        expect(await status(list({ 'x-api-key': k.key, 'x-tenant-id': t }))).toBe(200)
        expect(await status(list({ 'X-API-KEY': k.key, 'X-Tenant-ID': t }))).toBe(200)
      }
      for (const t of [other.tenantId, slug === 'acme' ? 'globex' : 'acme', 'nosuch', k.tenantId.toUpperCase()]) {
        const body = await expectErrorEnvelope(await list({ 'x-api-key': k.key, 'x-tenant-id': t }), 403, 'tenant_mismatch')
        expect(body.error.details.map((d) => d.field)).toEqual(['X-Tenant-Id'])
      }
      await expectErrorEnvelope(await list({ 'x-api-key': k.key }), 401, 'missing_tenant_id')
    }
  })

  it('refuses keys that are malformed, unknown, or whose secret does not match, all as invalid_api_key (2.1)', async () => {
    const secret = m.keys.acme.key.slice('tnz_acme_'.length)
    const bad = [
      'not-a-key',
      'tnz_acme',
      'tnz_acme_' + secret.slice(1),
      'tnz_acme_' + secret + 'A',
      'tnz_ACME_' + secret,
      'tnz_acme_' + secret.slice(0, -1) + '!',
      'TNZ_acme_' + secret,
      'tnz_' + 'a'.repeat(33) + '_' + secret,
      'tnz_globex_' + secret,
      'tnz_initech_' + secret,
      fakeKey('acme'),
      'tnz_acme_' + secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A')
    ]
    for (const key of bad) {
      const body = await expectErrorEnvelope(await list({ 'x-api-key': key, 'x-tenant-id': 'acme' }), 401, 'invalid_api_key')
      expect(body.error.details.map((d) => d.field)).toEqual(['X-API-Key'])
      expect(JSON.stringify(body)).not.toContain(secret)
    }
    await expectErrorEnvelope(await list({ 'x-tenant-id': 'acme' }), 401, 'missing_api_key')
    await expectErrorEnvelope(await list({ 'x-api-key': '', 'x-tenant-id': 'acme' }), 401, 'missing_api_key')
    await expectErrorEnvelope(await list({ authorization: 'Bearer ', 'x-tenant-id': 'acme' }), 401, 'missing_api_key')
  })

  it('refuses a key from its expiresAt on, by the injected clock (2.3)', async () => {
    clock.set(Date.UTC(2026, 6, 1))
    const k = await mk('globex', { expiresAt: new Date(clock.now() + 10 * 60_000).toISOString() })
    expect(await status(list(headersFor(k)))).toBe(200)
    clock.advance(10 * 60_000 - 1)
    expect(await status(list(headersFor(k)))).toBe(200)
    clock.advance(1)
    await expectErrorEnvelope(await list(headersFor(k)), 401, 'expired_api_key')
    await expectErrorEnvelope(await postJson(m, '/api/wallet/create', k, WALLET), 401, 'expired_api_key')
    // The tenant's other keys, and the other tenant's, are unaffected.
    expect(await status(list(headersFor(m.keys.globex)))).toBe(200)
    expect(await status(list(headersFor(m.keys.acme)))).toBe(200)
    // An expiry in the past is refused when the key is made.
    const past = await control(m, 'POST', '/__harness/keys', { tenant: 'acme', expiresAt: new Date(clock.now() - 1).toISOString() })
    expect(past.status).toBe(400)
    expect(past.body.error.details[0].field).toBe('expiresAt')
  })

  it('rotates without downtime: two live keys at once, then the revoked one is refused at once (2.5)', async () => {
    for (const slug of ['acme', 'globex'] as const) {
      const old = await mk(slug)
      const next = await mk(slug)
      expect(await status(list(headersFor(old)))).toBe(200)
      expect(await status(list(headersFor(next)))).toBe(200)
      expect((await control(m, 'DELETE', `/__harness/keys/${old.id}`)).status).toBe(200)
      await expectErrorEnvelope(await list(headersFor(old)), 401, 'revoked_api_key')
      await expectErrorEnvelope(await fetch(`${m.url}/api/keys/validate`, { headers: { 'x-api-key': old.key } }), 401, 'revoked_api_key')
      expect(await status(list(headersFor(next)))).toBe(200)
    }
  })

  it('checks route scopes: wallet:read lists, wallet:write creates, <service>:* and admin:* grant all of it (2.4)', async () => {
    const read = await mk('acme', { scopes: ['wallet:read'] })
    const write = await mk('globex', { scopes: ['wallet:write'] })
    const events = await mk('acme', { scopes: ['events:read'] })
    const all = await mk('globex', { scopes: ['wallet:*'] })
    const admin = await mk('acme', { scopes: ['admin:*'] })
    const create = (k: Key) => postJson(m, '/api/wallet/create', k, WALLET)
    expect(await status(list(headersFor(read)))).toBe(200)
    await expectErrorEnvelope(await create(read), 403, 'insufficient_scope')
    expect(await status(create(write))).toBe(201)
    await expectErrorEnvelope(await list(headersFor(write)), 403, 'insufficient_scope')
    await expectErrorEnvelope(await list(headersFor(events)), 403, 'insufficient_scope')
    await expectErrorEnvelope(await create(events), 403, 'insufficient_scope')
    expect(await status(list(headersFor(all)))).toBe(200)
    expect(await status(create(all))).toBe(201)
    expect(await status(list(headersFor(admin)))).toBe(200)
    expect(await status(create(admin))).toBe(201)
    const bad = await control(m, 'POST', '/__harness/keys', { tenant: 'acme', scopes: ['admin:read'] })
    expect(bad.status).toBe(400)
  })

  it('checks the key before the tenant and the tenant before the scope (1.6 order)', async () => {
    const read = await mk('globex', { scopes: ['wallet:read'] })
    // Bad key and missing tenant: the key is reported.
    await expectErrorEnvelope(await postJson(m, '/api/wallet/create', { key: fakeKey('globex'), tenantId: '' }, WALLET), 401, 'invalid_api_key')
    // Good key, wrong tenant, missing scope: the tenant is reported.
    await expectErrorEnvelope(await postJson(m, '/api/wallet/create', { key: read.key, tenantId: 'acme' }, WALLET), 403, 'tenant_mismatch')
  })

  it('answers /api/keys/validate about the presented key only, without the data wrapper (2.6)', async () => {
    for (const slug of ['acme', 'globex'] as const) {
      for (const path of ['/api/keys/validate', '/api/apikeys/validate']) {
        const res = await fetch(m.url + path, { headers: { 'x-api-key': m.keys[slug].key } })
        expect(res.status).toBe(200)
        const body = await jsonOf(res)
        expect(Object.keys(body).sort()).toEqual(['rateLimit', 'scopes', 'tenantId', 'valid'])
        expect(body.valid).toBe(true)
        expect(body.tenantId).toBe(m.keys[slug].tenantId)
        expect(Object.keys(body.rateLimit).sort()).toEqual(['limit', 'remaining', 'resetsAt'])
        expect(new Date(body.rateLimit.resetsAt).toISOString()).toBe(body.rateLimit.resetsAt)
        expect(JSON.stringify(body)).not.toContain(m.keys[slug].key.slice(9))
      }
      await expectErrorEnvelope(await fetch(`${m.url}/api/keys/validate`, { headers: { 'x-api-key': m.keys[slug].key, 'x-tenant-id': slug === 'acme' ? 'globex' : 'acme' } }), 403, 'tenant_mismatch')
    }
    await expectErrorEnvelope(await fetch(`${m.url}/api/keys/validate`), 401, 'missing_api_key')
  })
})
