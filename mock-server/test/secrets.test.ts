// Secrets never leave (contract 1.5, 2.7, 7.3; house style principle 6, layer 4): every error path runs
// with known canary keys, and no log line, answer (body or header), record entry, spilled record line or metric
// holds one, raw, URL-encoded or base64. The same run with redaction switched off must find them, or
// this test could not catch a leak.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { control, fakeKey, headersFor, postJson, QUIET, startMock } from './helper.ts'

const WALLET = { name: 'Ops', type: 'mpc', chain: 'ethereum' }
const dir = mkdtempSync(join(tmpdir(), 'tenzro-secrets-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

interface Canary { label: string, key: string }

/** The forms a leaked key could take. The secret alone counts too: a prefix of 12 chars may be logged (2.7), the secret may not. */
function encodings (key: string): string[] {
  const secret = key.slice(key.indexOf('_', 4) + 1) // tnz_<tenant>_<secret>: the tenant has no '_', the secret may
  const forms = new Set<string>()
  for (const v of [key, secret]) {
    forms.add(v)
    forms.add(encodeURIComponent(v))
    forms.add(encodeURIComponent(v).replace(/_/g, '%5F').replace(/-/g, '%2D'))
    forms.add(Buffer.from(v).toString('base64'))
    forms.add(Buffer.from(v).toString('base64url'))
  }
  // A base64 run that ends mid-triplet differs in its last chars depending on what follows: match its stable prefix.
  return [...forms].map((f) => f.replace(/=+$/, '').slice(0, Math.max(24, f.length - 4)))
}

/**
 * Run every error path of sections 1-3 and 6 with canary keys in every place a client might put one.
 * Returns the canaries and everything the mock let out.
 */
async function runErrorPaths (unsafe: boolean): Promise<{ canaries: Canary[], corpus: Array<{ where: string, text: string }> }> {
  const file = join(dir, `record-${unsafe ? 'unsafe' : 'safe'}.ndjson`)
  const m = await startMock({ ...QUIET, logLevel: 'info', unsafeDisableRedaction: unsafe, record: { file } })
  const corpus: Array<{ where: string, text: string }> = []
  const canaries: Canary[] = [
    { label: 'wrong secret for a real tenant', key: fakeKey('acme', 'FAKECANARYwrongsecret') },
    { label: 'unknown tenant', key: fakeKey('canarycorp', 'FAKECANARYunknown') },
    { label: 'malformed', key: 'tnz_acme_FAKECANARYmalformed' },
    { label: 'admin header', key: fakeKey('globex', 'FAKECANARYadmin') },
    { label: 'query string', key: fakeKey('acme', 'FAKECANARYquery') },
    { label: 'body field', key: fakeKey('acme', 'FAKECANARYbody') },
    { label: 'url path', key: fakeKey('acme', 'FAKECANARYpath') },
    { label: 'request id', key: fakeKey('acme', 'FAKECANARYrequestid') }
  ]
  const c = Object.fromEntries(canaries.map((x) => [x.label, x.key]))
  // Live keys are canaries too: created through the control API (their one showing), then used on error paths.
  const mk = async (tenant: string, scopes?: string[]) => {
    const r = await control(m, 'POST', '/__harness/keys', { tenant, ...(scopes === undefined ? {} : { scopes }) })
    return { key: r.body.data.key as string, tenantId: m.app.mock.keys.tenant(tenant)!.id }
  }
  const live = await mk('acme')
  const readOnly = await mk('globex', ['wallet:read'])
  const admin = await mk('acme', ['admin:*'])
  canaries.push({ label: 'live key', key: live.key }, { label: 'read-only key', key: readOnly.key }, { label: 'admin key', key: admin.key })

  const send = async (label: string, path: string, init: RequestInit = {}) => {
    let text: string
    try {
      const res = await fetch(m.url + path, init)
      text = `${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`
    } catch (err) {
      text = `error ${(err as Error).message}`
    }
    corpus.push({ where: `answer to ${label}`, text })
  }
  const h = (k: { key: string, tenantId: string }, extra: Record<string, string> = {}) => ({ 'x-api-key': k.key, 'x-tenant-id': k.tenantId, ...extra })
  const acmeId = live.tenantId
  const json = { 'content-type': 'application/json' }

  // Authentication failures, with the key in each header a client might use.
  await send('wrong secret in X-API-Key', '/api/wallet/list', { headers: { 'x-api-key': c['wrong secret for a real tenant']!, 'x-tenant-id': 'acme' } })
  await send('wrong secret in Bearer', '/api/wallet/list', { headers: { authorization: `Bearer ${c['wrong secret for a real tenant']!}`, 'x-tenant-id': 'acme' } })
  await send('unknown tenant in Bearer', '/api/wallet/list', { headers: { authorization: `bearer ${c['unknown tenant']!}`, 'x-tenant-id': 'canarycorp' } })
  await send('malformed key', '/api/wallet/create', { method: 'POST', headers: { 'x-api-key': c.malformed!, 'x-tenant-id': 'acme', ...json }, body: JSON.stringify(WALLET) })
  await send('canary as admin key', '/api/keys/tenant/acme', { headers: { 'x-admin-api-key': c['admin header']! } })
  await send('canary admin key on create', '/api/keys', { method: 'POST', headers: { 'x-admin-api-key': c['admin header']!, ...json }, body: JSON.stringify({ tenantId: 'globex', name: 'n' }) })
  await send('canary on validate', '/api/keys/validate', { headers: { 'x-api-key': c['wrong secret for a real tenant']! } })
  await send('canary in query, no header', `/api/wallet/list?api_key=${c['query string']!}`, { headers: { 'x-tenant-id': 'acme' } })
  await send('canary in query, encoded', `/api/wallet/list?api_key=${encodeURIComponent(c['query string']!).replace(/_/g, '%5F')}&limit=0`, { headers: h(live) })
  await send('canary in query with a live key', `/api/wallet/list?api_key=${c['query string']!}&limit=5`, { headers: h(live) })
  await send('canary in a body field', '/api/wallet/create', { method: 'POST', headers: h(live, json), body: JSON.stringify({ ...WALLET, apiKey: c['body field']! }) })
  await send('canary in a body, bad JSON', '/api/wallet/create', { method: 'POST', headers: h(live, json), body: `{"apiKey":"${c['body field']!}",` })
  await send('canary in a body, no key', '/api/wallet/create', { method: 'POST', headers: { 'x-tenant-id': 'acme', ...json }, body: JSON.stringify({ key: c['body field']! }) })
  await send('canary as a key id in the path', `/api/keys/${c['url path']!}`, { method: 'DELETE', headers: { 'x-admin-api-key': admin.key } })
  await send('canary in a bad URL', `/api/wallet/${c['url path']!}%E0%A4%A`, { headers: h(live) })
  await send('canary in an over-long path parameter', `/api/keys/${c['url path']!.repeat(3)}`, { method: 'DELETE', headers: { 'x-admin-api-key': admin.key } })
  await send('canary as X-Request-Id', '/api/wallet/list?limit=1', { headers: h(live, { 'x-request-id': c['request id']! }) })
  // Every other error path, with live keys.
  await send('missing tenant', '/api/wallet/list', { headers: { 'x-api-key': live.key } })
  await send('tenant mismatch', '/api/wallet/list', { headers: { 'x-api-key': live.key, 'x-tenant-id': 'globex' } })
  await send('insufficient scope', '/api/wallet/create', { method: 'POST', headers: h(readOnly, json), body: JSON.stringify(WALLET) })
  await send('admin without admin scope', '/api/keys/tenant/acme', { headers: { 'x-admin-api-key': live.key } })
  await send('admin other tenant', '/api/keys/tenant/globex', { headers: { 'x-admin-api-key': admin.key } })
  await send('unsupported version', '/api/wallet/list', { headers: h(live, { 'x-api-version': '3' }) })
  await send('bad network', '/api/wallet/list', { headers: h(live, { 'x-network': 'moon' }) })
  await send('not found', '/api/nothing', { headers: h(live) })
  await send('too large', '/api/wallet/create', { method: 'POST', headers: h(live, json), body: JSON.stringify({ ...WALLET, name: live.key.repeat(2000) }) })
  await send('bad body', '/api/wallet/create', { method: 'POST', headers: h(live, json), body: JSON.stringify({ name: '', type: 'x', chain: 'y' }) })
  await send('wrong content type', '/api/wallet/create', { method: 'POST', headers: h(live, { 'content-type': 'text/plain' }), body: live.key })
  const idem = { 'x-idempotency-key': 'canary-idem' }
  await postJson(m, '/api/wallet/create', live, WALLET, idem).then((r) => r.text())
  await send('idempotency reused', '/api/wallet/create', { method: 'POST', headers: h(live, { ...json, ...idem }), body: JSON.stringify({ ...WALLET, name: 'other' }) })
  await send('bad idempotency key', '/api/wallet/create', { method: 'POST', headers: h(live, { ...json, 'x-idempotency-key': 'has space' }), body: JSON.stringify(WALLET) })
  await control(m, 'PUT', '/__harness/faults', { faults: [{ type: 'latency', ms: 200, scope: { route: 'POST /api/wallet/create' } }] })
  await Promise.all([1, 2].map((i) => send(`in progress ${i}`, '/api/wallet/create', { method: 'POST', headers: h(live, { ...json, 'x-idempotency-key': 'canary-slow' }), body: JSON.stringify(WALLET) })))
  await control(m, 'PUT', '/__harness/faults', { faults: [{ type: 'error', status: 500, times: 1 }, { type: 'error', status: 503, times: 1 }, { type: 'error', status: 502, times: 1 }] })
  for (const status of [500, 503, 502]) await send(`fault ${status}`, '/api/wallet/list', { headers: h(live) })
  await control(m, 'PUT', '/__harness/faults', { faults: [{ type: 'lost-response', times: 1 }] })
  await send('lost response', '/api/wallet/create', { method: 'POST', headers: h(live, { ...json, 'x-idempotency-key': 'canary-lost' }), body: JSON.stringify(WALLET) })
  await control(m, 'DELETE', '/__harness/faults')
  // A revoked key is refused, and its refusal says nothing of it.
  const revoked = await control(m, 'POST', '/__harness/keys', { tenant: 'acme' })
  canaries.push({ label: 'revoked key', key: revoked.body.data.key })
  await control(m, 'DELETE', `/__harness/keys/${revoked.body.data.id}`)
  await send('revoked', '/api/wallet/list', { headers: { 'x-api-key': revoked.body.data.key, 'x-tenant-id': acmeId } })

  const rec = await fetch(`${m.url}/__harness/record`)
  corpus.push({ where: 'GET /__harness/record', text: await rec.text() })
  // The metrics of all of the above, in both expositions (OpenMetrics carries exemplars too).
  corpus.push({ where: 'GET /metrics', text: await (await fetch(`${m.url}/metrics`)).text() })
  corpus.push({ where: 'GET /metrics (OpenMetrics)', text: await (await fetch(`${m.url}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } })).text() })
  await m.close()
  for (const line of m.logs) corpus.push({ where: 'log line', text: line })
  corpus.push({ where: 'record file', text: readFileSync(file, 'utf8') })
  expect(m.logs.length).toBeGreaterThan(30)
  return { canaries, corpus }
}

function findings (canaries: Canary[], corpus: Array<{ where: string, text: string }>): Map<string, string[]> {
  const found = new Map<string, string[]>()
  for (const c of canaries) {
    const forms = encodings(c.key)
    const where = corpus.filter((item) => forms.some((f) => item.text.includes(f))).map((item) => `${item.where}: ${item.text.slice(0, 300)}`)
    found.set(c.label, where)
  }
  return found
}

describe('canary keys on every error path (contract 1.5, 2.7, 7.3)', () => {
  it('finds no canary key in any log line, answer, record entry, spilled record line or metric', async () => {
    const { canaries, corpus } = await runErrorPaths(false)
    const leaks = [...findings(canaries, corpus)].filter(([, where]) => where.length > 0)
    expect(leaks).toEqual([])
    // The refusals were logged with what 2.7 allows: the key's first 12 chars, never more.
    expect(corpus.some((item) => item.where === 'log line' && item.text.includes('"keyId":"tnz_acme_FAK"'))).toBe(true)
    // What the client leaked is flagged in the record, so a checker can report it without the secret.
    const record = corpus.find((item) => item.where === 'GET /__harness/record')!.text.split('\n').filter(Boolean).map((l) => JSON.parse(l))
    expect(record.filter((e) => e.method === 'DELETE' && e.path === '/api/keys/[REDACTED]').map((e) => e.secretInUrl)).toEqual([true, true])
    expect(record.filter((e) => e.route === '/api/wallet/list' && e.secretInUrl === true)).toHaveLength(3)
    expect(record.filter((e) => e.route === '/api/wallet/create' && e.secretInBody === true).length).toBeGreaterThanOrEqual(1)
  })

  it('finds every canary when redaction is switched off, so the search above can fail', async () => {
    const { canaries, corpus } = await runErrorPaths(true)
    const missed = [...findings(canaries, corpus)].filter(([, where]) => where.length === 0).map(([label]) => label)
    expect(missed).toEqual([])
  })
})

describe('subjects in the record (contract 7.3)', () => {
  it('keeps a subject pattern that could carry a key only as REDACTED', async () => {
    const m = await startMock()
    try {
      const secret = m.keys.globex.key.slice(m.keys.globex.key.indexOf('_', 4) + 1)
      const ac = new AbortController()
      const res = await fetch(`${m.url}/api/events/stream?subjects=${encodeURIComponent(`wallet.*,tnz.globex.${secret}`)}`, { headers: headersFor(m.keys.acme), signal: ac.signal })
      expect(res.status).toBe(200)
      ac.abort()
      const open = [...m.app.mock.record.after(0)].find((e) => e.type === 'stream' && e.phase === 'open')
      expect(open?.subjects).toEqual(['REDACTED', 'wallet.*'])
      expect(m.app.mock.record.ndjson()).not.toContain(secret.slice(0, 12))
    } finally {
      await m.close()
    }
  })
})
