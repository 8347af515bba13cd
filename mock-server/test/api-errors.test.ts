// Every error code that contract sections 1-3 and 6 can produce, through a real socket: status, code,
// the envelope of 1.5 and X-Request-Id of 1.2/1.3. And ERROR_CODES counted against the table of 1.6.
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../src/errors.ts'
import { control, expectErrorEnvelope, fakeClock, fakeKey, headersFor, jsonOf, postJson, QUIET, startMock, type TestMock } from './helper.ts'

const WALLET = { name: 'Ops', type: 'mpc', chain: 'ethereum' }
const CONTRACT = fileURLToPath(new URL('../../docs/api.md', import.meta.url))
// Codes this project adds to the table of 1.6, documented in its own API documents.
const PROJECT_DOCS = ['../../docs/drills-15.md'].map((p) => fileURLToPath(new URL(p, import.meta.url)))

function codeRows (text: string): Record<string, number> {
  const table: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const m = /^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|/.exec(line)
    if (m !== null) table[m[1]!] = Number(m[2])
  }
  return table
}

/** Rows of a project document's additions to 1.6: the table under a heading that names 1.6. */
function projectCodes (): Record<string, number> {
  const out: Record<string, number> = {}
  for (const f of PROJECT_DOCS) {
    if (!existsSync(f)) continue
    const text = readFileSync(f, 'utf8')
    const at = text.search(/^#+ .*\b1\.6\b/m)
    if (at === -1) continue
    const body = text.slice(text.indexOf('\n', at) + 1)
    const end = body.search(/^#+ /m)
    Object.assign(out, codeRows(end === -1 ? body : body.slice(0, end)))
  }
  return out
}

// The three ways a client can send X-Request-Id (1.2): a valid one is echoed, none or an invalid one
// gets a generated `req_` + 26 chars. Each error case below runs with all three.
const REQUEST_IDS: Array<{ label: string, header: Record<string, string>, sent?: { requestId: string, valid: boolean } }> = [
  { label: 'no X-Request-Id', header: {} },
  { label: 'a valid X-Request-Id', header: { 'x-request-id': 'client.req:42-A_b' }, sent: { requestId: 'client.req:42-A_b', valid: true } },
  { label: 'an invalid X-Request-Id', header: { 'x-request-id': 'bad id/with space' }, sent: { requestId: 'bad id/with space', valid: false } }
]

describe('error envelope and codes (contract 1.5, 1.6)', () => {
  const clock = fakeClock()
  let m: TestMock
  let readOnly: { key: string, tenantId: string }
  let revoked: { key: string, tenantId: string }
  let expiring: { key: string, tenantId: string }
  let admin: { key: string, tenantId: string }

  beforeAll(async () => {
    m = await startMock(QUIET, { now: clock.now })
    const tenantId = m.keys.acme.tenantId
    const mk = async (body: Record<string, unknown>) => {
      const r = await control(m, 'POST', '/__harness/keys', { tenant: 'acme', ...body })
      expect(r.status).toBe(201)
      return { id: r.body.data.id as string, key: r.body.data.key as string, tenantId }
    }
    readOnly = await mk({ scopes: ['wallet:read'] })
    admin = await mk({ scopes: ['admin:*'] })
    const r = await mk({})
    expect((await control(m, 'DELETE', `/__harness/keys/${r.id}`)).status).toBe(200)
    revoked = r
    expiring = await mk({ expiresAt: new Date(clock.now() + 60_000).toISOString() })
  })
  afterAll(async () => { await m.close() })

  // Each case: a request that must produce `code` with `status`, and a field `details` must name (if any).
  const cases: Array<{ code: string, status: number, field?: string, send: (rid: Record<string, string>) => Promise<Response> }> = [
    { code: 'validation_error', status: 400, field: 'limit', send: (rid) => fetch(`${m.url}/api/wallet/list?limit=0`, { headers: headersFor(m.keys.acme, rid) }) },
    { code: 'validation_error', status: 400, field: 'X-Network', send: (rid) => fetch(`${m.url}/api/wallet/list`, { headers: headersFor(m.keys.acme, { 'x-network': 'moonnet', ...rid }) }) },
    { code: 'validation_error', status: 400, field: 'chain', send: (rid) => postJson(m, '/api/wallet/create', m.keys.acme, { ...WALLET, chain: 'dogecoin' }, rid) },
    { code: 'validation_error', status: 400, field: 'body', send: (rid) => fetch(`${m.url}/api/wallet/create`, { method: 'POST', headers: headersFor(m.keys.acme, { 'content-type': 'application/json', ...rid }), body: '{"name":' }) },
    { code: 'unsupported_api_version', status: 400, field: 'X-API-Version', send: (rid) => fetch(`${m.url}/api/wallet/list`, { headers: headersFor(m.keys.acme, { 'x-api-version': '2', ...rid }) }) },
    { code: 'missing_api_key', status: 401, field: 'X-API-Key', send: (rid) => fetch(`${m.url}/api/wallet/list`, { headers: { 'x-tenant-id': m.keys.acme.tenantId, ...rid } }) },
    { code: 'invalid_api_key', status: 401, field: 'X-API-Key', send: (rid) => fetch(`${m.url}/api/wallet/list`, { headers: headersFor({ key: 'tnz_acme_tooShort', tenantId: m.keys.acme.tenantId }, rid) }) },
    { code: 'invalid_api_key', status: 401, field: 'X-API-Key', send: (rid) => fetch(`${m.url}/api/wallet/list`, { headers: headersFor({ key: fakeKey('nosuchtenant'), tenantId: 'nosuchtenant' }, rid) }) },
    { code: 'invalid_api_key', status: 401, field: 'X-API-Key', send: (rid) => fetch(`${m.url}/api/wallet/list`, { headers: headersFor({ key: fakeKey('acme'), tenantId: m.keys.acme.tenantId }, rid) }) },
    { code: 'expired_api_key', status: 401, field: 'X-API-Key', send: (rid) => fetch(`${m.url}/api/wallet/list`, { headers: headersFor(expiring, rid) }) },
    { code: 'revoked_api_key', status: 401, field: 'X-API-Key', send: (rid) => fetch(`${m.url}/api/wallet/list`, { headers: headersFor(revoked, rid) }) },
    { code: 'missing_tenant_id', status: 401, field: 'X-Tenant-Id', send: (rid) => fetch(`${m.url}/api/wallet/list`, { headers: { 'x-api-key': m.keys.acme.key, ...rid } }) },
    { code: 'tenant_mismatch', status: 403, field: 'X-Tenant-Id', send: (rid) => fetch(`${m.url}/api/wallet/list`, { headers: headersFor({ key: m.keys.acme.key, tenantId: m.keys.globex.tenantId }, rid) }) },
    { code: 'insufficient_scope', status: 403, field: 'scope', send: (rid) => postJson(m, '/api/wallet/create', readOnly, WALLET, rid) },
    { code: 'not_found', status: 404, send: (rid) => fetch(`${m.url}/api/wallet/nope`, { headers: headersFor(m.keys.acme, rid) }) },
    { code: 'not_found', status: 404, field: 'id', send: (rid) => fetch(`${m.url}/api/keys/key_0000000000000000`, { method: 'DELETE', headers: { 'x-admin-api-key': admin.key, ...rid } }) },
    { code: 'payload_too_large', status: 413, field: 'body', send: (rid) => postJson(m, '/api/wallet/create', m.keys.acme, { ...WALLET, name: 'x'.repeat(70_000) }, rid) }
  ]

  for (const c of cases) {
    for (const r of REQUEST_IDS) {
      it(`answers ${c.status} ${c.code}${c.field === undefined ? '' : ` on ${c.field}`} in the envelope with ${r.label}`, async () => {
        // The expiring key is valid now and expired once the clock passes its expiresAt.
        if (c.code === 'expired_api_key') {
          clock.set(Date.UTC(2026, 5, 1))
          expect((await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(expiring) })).status).toBe(200)
          clock.advance(60_000)
        }
        const body = await expectErrorEnvelope(await c.send(r.header), c.status, c.code, r.sent)
        if (c.field !== undefined) expect(body.error.details.map((d) => d.field)).toContain(c.field)
      })
    }
  }

  it('answers 422 idempotency_key_reused when one idempotency key comes with another body (6.1)', async () => {
    const idem = { 'x-idempotency-key': 'reuse-1', 'x-request-id': 'rid-reuse' }
    expect((await postJson(m, '/api/wallet/create', m.keys.acme, WALLET, idem)).status).toBe(201)
    const body = await expectErrorEnvelope(await postJson(m, '/api/wallet/create', m.keys.acme, { ...WALLET, name: 'Other' }, idem), 422, 'idempotency_key_reused', { requestId: 'rid-reuse', valid: true })
    expect(body.error.details.map((d) => d.field)).toContain('X-Idempotency-Key')
  })

  describe('with injected faults', () => {
    it('answers 409 idempotency_in_progress while the first request with the key still runs (6.1)', async () => {
      expect((await control(m, 'PUT', '/__harness/faults', { faults: [{ type: 'latency', ms: 600, scope: { route: 'POST /api/wallet/create' } }] })).status).toBe(200)
      // Both arrive within the first one's 600 ms: whichever begins second finds the key in progress.
      const answers = await Promise.all([1, 2].map(() => postJson(m, '/api/wallet/create', m.keys.acme, WALLET, { 'x-idempotency-key': 'slow-1' })))
      expect(answers.map((a) => a.status).sort()).toEqual([201, 409])
      await expectErrorEnvelope(answers.find((a) => a.status === 409)!, 409, 'idempotency_in_progress')
    })

    it('answers 500 internal_error for an injected error 500, without internals in the message', async () => {
      await control(m, 'PUT', '/__harness/faults', { faults: [{ type: 'error', status: 500 }] })
      const body = await expectErrorEnvelope(await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(m.keys.acme) }), 500, 'internal_error')
      expect(body.error.message).not.toMatch(/\/|at |Error:/)
    })

    it('answers 503 service_unavailable with Retry-After for an injected error 503', async () => {
      await control(m, 'PUT', '/__harness/faults', { faults: [{ type: 'error', status: 503, retryAfterS: 7 }] })
      const res = await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(m.keys.acme, { 'x-request-id': 'rid-503' }) })
      expect(res.headers.get('retry-after')).toBe('7')
      await expectErrorEnvelope(res, 503, 'service_unavailable', { requestId: 'rid-503', valid: true })
      await control(m, 'DELETE', '/__harness/faults')
    })
  })
})

describe('X-Request-Id (contract 1.2, 1.3)', () => {
  let m: TestMock
  beforeAll(async () => { m = await startMock(QUIET) })
  afterAll(async () => { await m.close() })

  it('echoes an id of 1 to 128 allowed characters on success responses', async () => {
    for (const id of ['a', 'A'.repeat(128), 'abc.DEF_123:xyz-0']) {
      const res = await fetch(`${m.url}/api/wallet/list?limit=1`, { headers: headersFor(m.keys.acme, { 'x-request-id': id }) })
      const body = await jsonOf(res)
      expect(res.status).toBe(200)
      expect(res.headers.get('x-request-id')).toBe(id)
      expect(body.meta.requestId).toBe(id)
    }
  })

  it('replaces an id that is too long or has other characters with req_ and 26 chars', async () => {
    for (const id of ['A'.repeat(129), 'has space', 'slash/ed', 'ümlaut', 'a,b']) {
      const res = await fetch(`${m.url}/health`, { headers: { 'x-request-id': id } })
      const body = await jsonOf(res)
      expect(res.headers.get('x-request-id')).toMatch(/^req_[A-Za-z0-9]{26}$/)
      expect(res.headers.get('x-request-id')).toBe(body.meta.requestId)
    }
  })

  it('generates a distinct id per request and sends X-API-Version: 1 on every response', async () => {
    const ids = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${m.url}/health`)
      expect(res.headers.get('x-api-version')).toBe('1')
      ids.add(res.headers.get('x-request-id')!)
      await res.arrayBuffer()
    }
    expect(ids.size).toBe(20)
  })
})

describe('ERROR_CODES against the contract (1.6)', () => {
  it('holds exactly the codes and statuses of the table in docs/api.md section 1.6', () => {
    const text = readFileSync(CONTRACT, 'utf8')
    const start = text.indexOf('1.6 Error codes')
    expect(start).toBeGreaterThan(-1)
    const section = text.slice(start, text.indexOf('\n1.7 ', start))
    const table = codeRows(section)
    expect(Object.keys(table).length).toBeGreaterThanOrEqual(15)
    expect({ ...ERROR_CODES }).toEqual({ ...table, ...projectCodes() })
  })
})
