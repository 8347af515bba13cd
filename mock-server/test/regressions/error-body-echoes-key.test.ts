// Regression: error bodies echoed the caller's key: a JSON field named with the full key came back in
// details[].field; `subjects=<key>` came back in the error message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { headersFor, QUIET, startMock, type TestMock } from '../helper.ts'

let m: TestMock
beforeAll(async () => { m = await startMock(QUIET) })
afterAll(async () => { await m.close() })

describe('error bodies never echo a key', () => {
  it('redacts a body field named with the key in details[].field', async () => {
    const key = m.keys.acme.key
    const res = await fetch(m.url + '/api/wallet/create', { method: 'POST', headers: headersFor(m.keys.acme, { 'content-type': 'application/json' }), body: JSON.stringify({ name: 'a', type: 'mpc', chain: 'ethereum', [key]: 1 }) })
    const text = await res.text()
    expect(res.status).toBe(400)
    expect(text).not.toContain(key)
    expect(text).not.toContain(key.slice(-20))
    expect(JSON.parse(text).error.details.map((d: { field: string }) => d.field)).toContain('[REDACTED]')
  })

  it('redacts a subjects pattern that is a key from the error message', async () => {
    const key = m.keys.globex.key
    const res = await fetch(m.url + '/api/events/stream?subjects=' + encodeURIComponent(`wallet.*,${key}..x`), { headers: headersFor(m.keys.acme), signal: AbortSignal.timeout(5000) })
    const text = await res.text()
    expect(res.status).toBe(400)
    expect(text).not.toContain(key)
    expect(text).not.toContain(key.slice(-20))
  })
})
