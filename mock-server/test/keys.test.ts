// Key administration (contract 2.6) at /api/keys and /api/apikeys with X-Admin-API-Key, through a real
// socket and two tenants: an admin key manages its own tenant only (3.4), and secrets are shown once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { control, expectErrorEnvelope, headersFor, jsonOf, QUIET, startMock, type TestMock } from './helper.ts'

type Key = { id: string, key: string, tenantId: string }

describe('key administration (contract 2.6)', () => {
  let m: TestMock
  const admins = {} as Record<'acme' | 'globex', Key>
  beforeAll(async () => {
    m = await startMock(QUIET)
    for (const slug of ['acme', 'globex'] as const) {
      const r = await control(m, 'POST', '/__harness/keys', { tenant: slug, scopes: ['admin:*'] })
      admins[slug] = { id: r.body.data.id, key: r.body.data.key, tenantId: m.keys[slug].tenantId }
    }
  })
  afterAll(async () => { await m.close() })

  const adminCall = (slug: 'acme' | 'globex', method: string, path: string, body?: unknown) => fetch(m.url + path, {
    method,
    headers: { 'x-admin-api-key': admins[slug].key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })

  for (const prefix of ['/api/keys', '/api/apikeys']) {
    it(`creates, lists and revokes keys of the admin key's own tenant at ${prefix}`, async () => {
      for (const slug of ['acme', 'globex'] as const) {
        const tenantId = m.keys[slug].tenantId
        const res = await adminCall(slug, 'POST', prefix, { tenantId: slug, name: 'ci', scopes: ['wallet:read'], rateLimit: 50 })
        expect(res.status).toBe(201)
        const created = await jsonOf(res)
        expect(Object.keys(created).sort()).toEqual(['data', 'meta'])
        expect(created.data).toMatchObject({ tenantId, name: 'ci', scopes: ['wallet:read'], rateLimit: 50, revokedAt: null, expiresAt: null, lastUsedAt: null })
        expect(created.data.id).toMatch(/^key_[A-Za-z0-9]{16}$/)
        expect(created.data.key).toMatch(new RegExp(`^tnz_${slug}_[A-Za-z0-9_-]{43}$`))
        expect(created.data.prefix).toBe(created.data.key.slice(0, 12))
        const key = { key: created.data.key as string, tenantId }
        expect((await fetch(`${m.url}/api/wallet/list?limit=1`, { headers: headersFor(key) })).status).toBe(200)

        // The list shows every key of the tenant with a 12-char prefix and never a secret.
        const listed = await jsonOf(await adminCall(slug, 'GET', `${prefix}/tenant/${tenantId}`))
        const ids = listed.data.map((k: { id: string }) => k.id)
        expect(ids).toContain(created.data.id)
        expect(ids).toContain(m.keys[slug].id)
        expect(ids).toContain(admins[slug].id)
        const text = JSON.stringify(listed)
        for (const k of [created.data.key, m.keys[slug].key, admins[slug].key]) expect(text).not.toContain(k.slice(12))
        for (const k of listed.data) {
          expect(k).not.toHaveProperty('key')
          expect(k).not.toHaveProperty('hash')
          expect(k.prefix).toHaveLength(12)
          expect(k.tenantId).toBe(tenantId)
        }
        // Listing by slug works the same; lastUsedAt moved when the key was used.
        const bySlug = await jsonOf(await adminCall(slug, 'GET', `${prefix}/tenant/${slug}`))
        expect(bySlug.data.find((k: { id: string }) => k.id === created.data.id).lastUsedAt).not.toBeNull()

        const del = await adminCall(slug, 'DELETE', `${prefix}/${created.data.id}`)
        expect(del.status).toBe(200)
        const revoked = await jsonOf(del)
        expect(revoked.data.id).toBe(created.data.id)
        expect(revoked.data.revokedAt).not.toBeNull()
        expect(revoked.data).not.toHaveProperty('key')
        await expectErrorEnvelope(await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(key) }), 401, 'revoked_api_key')
      }
    })
  }

  it('never reveals or touches another tenant\'s keys, whatever id the admin key sends (3.4)', async () => {
    for (const [slug, other] of [['acme', 'globex'], ['globex', 'acme']] as const) {
      const otherTenant = m.keys[other].tenantId
      for (const t of [otherTenant, other]) {
        const body = await expectErrorEnvelope(await adminCall(slug, 'GET', `/api/keys/tenant/${t}`), 403, 'tenant_mismatch')
        expect(JSON.stringify(body)).not.toContain(m.keys[other].id)
        await expectErrorEnvelope(await adminCall(slug, 'POST', '/api/keys', { tenantId: t, name: 'sneaky' }), 403, 'tenant_mismatch')
      }
      // Revoking the other tenant's key is 404, as if it did not exist, and the key keeps working.
      const body = await expectErrorEnvelope(await adminCall(slug, 'DELETE', `/api/keys/${m.keys[other].id}`), 404, 'not_found')
      expect(body.error.details.map((d) => d.field)).toEqual(['id'])
      expect((await fetch(`${m.url}/api/wallet/list?limit=1`, { headers: headersFor(m.keys[other]) })).status).toBe(200)
      await expectErrorEnvelope(await adminCall(slug, 'DELETE', `/api/keys/${admins[other].id}`), 404, 'not_found')
      expect((await adminCall(other, 'GET', `/api/keys/tenant/${other}`)).status).toBe(200)
      // No key of the other tenant was created by the refused attempts.
      const keys = (await jsonOf(await adminCall(other, 'GET', `/api/keys/tenant/${other}`))).data
      expect(keys.some((k: { name: string }) => k.name === 'sneaky')).toBe(false)
    }
  })

  it('needs X-Admin-API-Key holding admin:* (2.6)', async () => {
    // A tenant key without admin:* is refused, in either header.
    const noAdmin = await expectErrorEnvelope(await fetch(`${m.url}/api/keys/tenant/acme`, { headers: { 'x-admin-api-key': m.keys.acme.key } }), 403, 'insufficient_scope')
    expect(noAdmin.error.details.map((d) => d.field)).toEqual(['scope'])
    const body = await expectErrorEnvelope(await fetch(`${m.url}/api/keys/tenant/acme`, { headers: { 'x-api-key': admins.acme.key, 'x-tenant-id': 'acme' } }), 401, 'missing_api_key')
    expect(body.error.details.map((d) => d.field)).toEqual(['X-Admin-API-Key'])
    await expectErrorEnvelope(await fetch(`${m.url}/api/keys/tenant/acme`, { headers: { authorization: `Bearer ${admins.acme.key}` } }), 401, 'missing_api_key')
    await expectErrorEnvelope(await fetch(`${m.url}/api/keys/tenant/acme`, { headers: { 'x-admin-api-key': admins.acme.key.slice(0, -1) + '_' } }), 401, 'invalid_api_key')
  })

  it('refuses bad key bodies, naming each field', async () => {
    const cases: Array<[unknown, string[]]> = [
      [{}, ['tenantId']],
      [{ tenantId: 'acme', scopes: [] }, ['scopes']],
      [{ tenantId: 'acme', scopes: ['wallet:fly'] }, ['scopes']],
      [{ tenantId: 'acme', rateLimit: -5, expiresAt: 'never', name: '' }, ['expiresAt', 'name', 'rateLimit']],
      [{ tenantId: 'acme', secret: 'x' }, ['secret']]
    ]
    for (const [body, fields] of cases) {
      const e = await expectErrorEnvelope(await adminCall('acme', 'POST', '/api/keys', body), 400, 'validation_error')
      expect(e.error.details.map((d) => d.field).sort()).toEqual(fields)
    }
    await expectErrorEnvelope(await adminCall('acme', 'DELETE', '/api/keys/key_doesnotexist0000'), 404, 'not_found')
  })
})
