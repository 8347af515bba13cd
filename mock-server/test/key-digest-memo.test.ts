// A connection remembers the last key it presented and its digest (domain/key-store.ts DigestMemo), so
// a keep-alive client's key is hashed once, not per request. The memo must never change an outcome:
// on one connection, keys that change, get revoked, are unknown, malformed or one character off are
// each judged as on a fresh connection, and the record names them the same way.
import { request as httpRequest, Agent } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { control, fakeKey, QUIET, readRecord, startMock, type TestMock } from './helper.ts'
import { createKeyStore, type DigestMemo } from '../src/domain/key-store.ts'

let m: TestMock
// One socket for every request: all of them share the connection's memo.
const agent = new Agent({ keepAlive: true, maxSockets: 1 })
beforeAll(async () => { m = await startMock(QUIET) })
afterAll(async () => { agent.destroy(); await m.close() })

function get (key: string | undefined, tenantId: string): Promise<{ status: number, code: string | undefined, port: number }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'x-tenant-id': tenantId }
    if (key !== undefined) headers['x-api-key'] = key
    const req = httpRequest(m.url + '/api/wallet/list?limit=1', { agent, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode!, code: (JSON.parse(body) as { error?: { code: string } }).error?.code, port: req.socket!.localPort! }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('the per-connection key digest memo', () => {
  it('judges every key on a shared connection as on a fresh one', async () => {
    const acme = m.keys.acme
    const globex = m.keys.globex
    const extra = (await control(m, 'POST', '/__harness/keys', { tenant: acme.tenantId })).body.data as { id: string, key: string }
    const oneOff = acme.key.slice(0, -1) + (acme.key.endsWith('A') ? 'B' : 'A')
    const steps: Array<[string | undefined, string, number, string | undefined]> = [
      [acme.key, acme.tenantId, 200, undefined],
      [acme.key, acme.tenantId, 200, undefined],
      [oneOff, acme.tenantId, 401, 'invalid_api_key'],
      [acme.key, acme.tenantId, 200, undefined],
      [globex.key, globex.tenantId, 200, undefined],
      [globex.key, acme.tenantId, 403, 'tenant_mismatch'],
      [fakeKey('acme'), acme.tenantId, 401, 'invalid_api_key'],
      [fakeKey('acme'), acme.tenantId, 401, 'invalid_api_key'],
      ['tnz_not a key', acme.tenantId, 401, 'invalid_api_key'],
      [undefined, acme.tenantId, 401, 'missing_api_key'],
      [extra.key, acme.tenantId, 200, undefined]
    ]
    const ports = new Set<number>()
    for (const [key, tenant, status, code] of steps) {
      const r = await get(key, tenant)
      ports.add(r.port)
      expect([r.status, r.code], `${key?.slice(0, 12)}`).toEqual([status, code])
    }
    // Revoked while the connection holds it in its memo: refused on the very next request.
    expect((await control(m, 'DELETE', `/__harness/keys/${extra.id}`)).status).toBe(200)
    const revoked = await get(extra.key, acme.tenantId)
    ports.add(revoked.port)
    expect([revoked.status, revoked.code]).toEqual([401, 'revoked_api_key'])
    expect(ports.size).toBe(1)
    // The record names a refused unknown key by its claimed tenant, memo or not.
    const refused = (await readRecord(m)).filter((e) => e.type === 'request' && e.code === 'invalid_api_key' && e.keyId === fakeKey('acme').slice(0, 12))
    expect(refused).toHaveLength(2)
    expect(refused.every((e) => e.tenant === acme.tenantId)).toBe(true)
  })

  it('is trusted only by the store that made it (each store hashes with its own pepper)', () => {
    const key = fakeKey('acme', 'Ab1')
    const stores = [createKeyStore({ seed: 1, now: () => 0 }), createKeyStore({ seed: 1, now: () => 0 })]
    for (const store of stores) store.importKey(store.addTenant({ slug: 'acme' }), key)
    const memo: DigestMemo = { key: undefined, hash: '', store: undefined }
    for (let i = 0; i < 4; i++) expect(stores[i % 2]!.verify(key, memo).ok).toBe(true)
    // A memo made by another store for another key is not reused either.
    const other = createKeyStore({ seed: 1, now: () => 0 })
    expect(other.verify(key, memo)).toMatchObject({ ok: false, code: 'invalid_api_key' })
    expect(stores[0]!.verify(key, memo).ok).toBe(true)
  })
})
