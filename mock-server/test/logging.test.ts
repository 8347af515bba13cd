// Logging (issue 2; contract 2.7): one JSON line per request instead of Fastify's two, carrying method,
// route, status, duration, tenant, key id and the authentication outcome; every authentication attempt
// with key id (or the key's first 12 chars), tenant, client address and request id; never a header or a
// query string.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { control, fakeClock, fakeKey, headersFor, postJson, startMock, type TestMock } from './helper.ts'

const WALLET = { name: 'Cold storage', type: 'mpc', chain: 'bitcoin' }

describe('request log lines', () => {
  const clock = fakeClock()
  let m: TestMock
  let readOnly: { id: string, key: string, tenantId: string }
  let revoked: { id: string, key: string, tenantId: string }
  let expired: { id: string, key: string, tenantId: string }
  const sent: Array<{ rid: string, expect: Record<string, unknown> }> = []

  beforeAll(async () => {
    m = await startMock({ logLevel: 'info', rateLimit: { limit: 1_000_000 } }, { now: clock.now })
    const mk = async (tenant: string, body: Record<string, unknown> = {}) => {
      const r = await control(m, 'POST', '/__harness/keys', { tenant, ...body })
      return { id: r.body.data.id as string, key: r.body.data.key as string, tenantId: m.app.mock.keys.tenant(tenant)!.id }
    }
    readOnly = await mk('globex', { scopes: ['wallet:read'] })
    revoked = await mk('acme')
    await control(m, 'DELETE', `/__harness/keys/${revoked.id}`)
    expired = await mk('globex', { expiresAt: new Date(clock.now() + 1000).toISOString() })
    clock.advance(2000)

    const acme = m.keys.acme
    const globex = m.keys.globex
    const go = async (rid: string, send: (h: Record<string, string>) => Promise<Response>, expected: Record<string, unknown>) => {
      const r = await send({ 'x-request-id': rid, 'x-log-marker': 'HEADERMARKER-' + rid })
      await r.arrayBuffer().catch(() => {})
      sent.push({ rid, expect: expected })
    }
    const q = '?limit=2&marker=QUERYMARKER'
    await go('ok-list', (h) => fetch(`${m.url}/api/wallet/list${q}`, { headers: headersFor(acme, h) }), { method: 'GET', route: '/api/wallet/list', status: 200, tenant: acme.tenantId, keyId: acme.id, auth: 'ok', code: null })
    await go('ok-create', (h) => postJson(m, '/api/wallet/create', globex, WALLET, { ...h, 'x-idempotency-key': 'log-1' }), { method: 'POST', route: '/api/wallet/create', status: 201, tenant: globex.tenantId, keyId: globex.id, auth: 'ok', idempotencyKey: 'log-1' })
    await go('no-key', (h) => fetch(`${m.url}/api/wallet/list${q}`, { headers: { ...h, 'x-tenant-id': 'acme' } }), { status: 401, auth: 'refused', code: 'missing_api_key', keyId: null })
    await go('malformed', (h) => fetch(`${m.url}/api/wallet/list${q}`, { headers: { ...h, 'x-api-key': 'tnz_acme_FAKEshort', 'x-tenant-id': 'acme' } }), { status: 401, auth: 'refused', code: 'invalid_api_key', keyId: null })
    await go('wrong-secret', (h) => fetch(`${m.url}/api/wallet/list${q}`, { headers: { ...h, 'x-api-key': fakeKey('acme'), 'x-tenant-id': 'acme' } }), { status: 401, auth: 'refused', code: 'invalid_api_key', keyId: 'tnz_acme_FAK', tenant: acme.tenantId })
    await go('unknown-tenant', (h) => fetch(`${m.url}/api/wallet/list${q}`, { headers: { ...h, authorization: `Bearer ${fakeKey('initech')}`, 'x-tenant-id': 'initech' } }), { status: 401, auth: 'refused', code: 'invalid_api_key', keyId: 'tnz_initech_', tenant: null })
    await go('revoked', (h) => fetch(`${m.url}/api/wallet/list`, { headers: headersFor(revoked, h) }), { status: 401, auth: 'refused', code: 'revoked_api_key', keyId: revoked.id, tenant: acme.tenantId })
    await go('expired', (h) => fetch(`${m.url}/api/wallet/list`, { headers: headersFor(expired, h) }), { status: 401, auth: 'refused', code: 'expired_api_key', keyId: expired.id, tenant: globex.tenantId })
    await go('no-tenant', (h) => fetch(`${m.url}/api/wallet/list`, { headers: { ...h, 'x-api-key': acme.key } }), { status: 401, auth: 'refused', code: 'missing_tenant_id', keyId: acme.id, tenant: acme.tenantId })
    await go('mismatch', (h) => fetch(`${m.url}/api/wallet/list`, { headers: { ...h, 'x-api-key': acme.key, 'x-tenant-id': globex.tenantId } }), { status: 403, auth: 'refused', code: 'tenant_mismatch', keyId: acme.id, tenant: acme.tenantId })
    await go('scope', (h) => postJson(m, '/api/wallet/create', readOnly, WALLET, h), { status: 403, auth: 'refused', code: 'insufficient_scope', keyId: readOnly.id, tenant: globex.tenantId })
    await go('not-found', (h) => fetch(`${m.url}/api/nope${q}`, { headers: headersFor(acme, h) }), { status: 404, code: 'not_found', route: null })
    await go('bad-json', (h) => fetch(`${m.url}/api/wallet/create`, { method: 'POST', headers: headersFor(acme, { ...h, 'content-type': 'application/json' }), body: '{' }), { status: 400, code: 'validation_error', auth: 'ok' })
    await go('too-large', (h) => postJson(m, '/api/wallet/create', acme, { ...WALLET, name: 'x'.repeat(80_000) }, h), { status: 413, code: 'payload_too_large' })
    await go('bad-url', (h) => fetch(`${m.url}/api/wallet/%E0%A4%A${q}`, { headers: headersFor(acme, h) }), { status: 400, code: 'validation_error', route: null })
    await go('health', (h) => fetch(`${m.url}/health${q}`, { headers: h }), { status: 200, route: '/health', auth: null, tenant: null, keyId: null })
    await control(m, 'PUT', '/__harness/faults', { faults: [{ type: 'error', status: 500, times: 1, scope: { route: '/api/wallet/list' } }, { type: 'lost-response', times: 1 }] })
    await go('fault-500', (h) => fetch(`${m.url}/api/wallet/list${q}`, { headers: headersFor(globex, h) }), { status: 500, code: 'internal_error', faults: ['error#0'] })
    await go('lost', (h) => postJson(m, '/api/wallet/create', globex, WALLET, { ...h, 'x-idempotency-key': 'log-lost' }).catch(() => new Response(null)), { status: 201, lostResponse: true, idempotencyKey: 'log-lost' })
    await go('replay', (h) => postJson(m, '/api/wallet/create', globex, WALLET, { ...h, 'x-idempotency-key': 'log-lost' }), { status: 201, idempotency: 'replayed' })
    await control(m, 'DELETE', '/__harness/faults')
    // Let the lost response's socket teardown finish before reading the lines.
    await fetch(`${m.url}/health`).then((r) => r.arrayBuffer())
  })
  afterAll(async () => { await m.close() })

  const parsed = () => m.logs.map((l) => JSON.parse(l) as Record<string, unknown>)

  it('writes exactly one line per request, and none of Fastify\'s default request lines', () => {
    const lines = parsed()
    for (const s of sent) {
      const mine = lines.filter((l) => l.reqId === s.rid || l.requestId === s.rid)
      expect(mine, s.rid).toHaveLength(1)
      expect(mine[0]!.msg).toBe('request')
    }
    expect(lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toEqual([])
    // Every request line is one request: no request id appears on two request lines.
    const ids = lines.filter((l) => l.msg === 'request').map((l) => l.requestId)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('carries method, route, status, duration, tenant, key id, auth outcome and code, client address and request id', () => {
    const lines = parsed()
    for (const s of sent) {
      const line = lines.find((l) => l.requestId === s.rid)!
      expect(line, s.rid).toMatchObject({ level: 30, requestId: s.rid, reqId: s.rid, ip: '127.0.0.1', ...s.expect })
      for (const field of ['method', 'route', 'path', 'status', 'durationMs', 'tenant', 'keyId', 'auth', 'code', 'ip', 'time']) expect(line, `${s.rid}.${field}`).toHaveProperty(field)
      expect(typeof line.durationMs).toBe('number')
    }
  })

  it('logs no header and no query string', () => {
    const text = m.logs.join('\n')
    expect(text).not.toContain('HEADERMARKER')
    expect(text).not.toContain('QUERYMARKER')
    expect(text).not.toContain('marker=')
    expect(text).not.toMatch(/x-log-marker|x-api-key|authorization|user-agent|"headers"/i)
    for (const l of parsed()) if (typeof l.path === 'string') expect(l.path).not.toContain('?')
  })

  it('logs with a level: nothing per request when the level is above info', async () => {
    const quiet = await startMock({ logLevel: 'warn' })
    try {
      await (await fetch(`${quiet.url}/api/wallet/list`, { headers: headersFor(quiet.keys.acme) })).arrayBuffer()
      await (await fetch(`${quiet.url}/api/wallet/list`)).arrayBuffer()
      expect(quiet.logs.filter((l) => JSON.parse(l).msg === 'request')).toEqual([])
    } finally {
      await quiet.close()
    }
  })
})
