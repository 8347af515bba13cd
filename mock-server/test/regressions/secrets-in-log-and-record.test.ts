// Regression: a key or bare secret sent as X-Idempotency-Key was logged and recorded as
// idempotencyKey; a bare secret as X-Request-Id was logged and echoed in X-Request-Id and
// meta.requestId; a bare secret as a path segment was logged as `path`; a key used as a fault id
// appeared in the "fault plan set" log line. Only values starting with tnz_ were caught.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { control, headersFor, postJson, readRecord, startMock, type TestMock } from '../helper.ts'

let m: TestMock
beforeAll(async () => { m = await startMock({ rateLimit: { limit: 1_000_000 } }) })
afterAll(async () => { await m.close() })

const secretOf = (key: string) => key.slice(key.indexOf('_', 4) + 1)
const WALLET = { name: 'w', type: 'mpc', chain: 'ethereum' }

async function everywhere (): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 30))
  return (await readRecord(m)).map((e) => JSON.stringify(e)).join('\n') + '\n' + m.logs.join('\n')
}

describe('values that carry a live key never reach the log or the record', () => {
  it('a full key or its bare secret as X-Idempotency-Key', async () => {
    const key = m.keys.acme.key
    for (const v of [key, secretOf(key), secretOf(key).slice(5, 20)]) {
      const res = await postJson(m, '/api/wallet/create', m.keys.acme, WALLET, { 'x-idempotency-key': v })
      expect(res.status).toBe(201)
      await res.text()
    }
    const all = await everywhere()
    expect(all).not.toContain(secretOf(key).slice(5, 20))
  })

  it('a bare secret as X-Request-Id is neither echoed nor logged', async () => {
    const secret = secretOf(m.keys.acme.key)
    for (const v of [secret.slice(0, 12), secret.slice(3, 30)]) {
      const res = await fetch(m.url + '/api/wallet/list?limit=1', { headers: headersFor(m.keys.acme, { 'x-request-id': v }) })
      const text = await res.text()
      expect(res.headers.get('x-request-id')).not.toBe(v)
      expect(text).not.toContain(v)
    }
    const all = await everywhere()
    expect(all).not.toContain(secret.slice(0, 12))
  })

  it('a bare secret as a path segment', async () => {
    const secret = secretOf(m.keys.globex.key)
    const res = await fetch(m.url + `/api/keys/${secret.slice(0, 14)}`, { method: 'DELETE', headers: headersFor(m.keys.acme) })
    await res.text()
    const all = await everywhere()
    expect(all).not.toContain(secret.slice(0, 14))
  })

  it('a key as a fault id', async () => {
    const key = m.keys.globex.key
    const r = await control(m, 'PUT', '/__harness/faults', { faults: [{ id: key, type: 'latency', ms: 1 }] })
    expect(JSON.stringify(r.body)).not.toContain(secretOf(key))
    const all = await everywhere()
    expect(all).not.toContain(secretOf(key).slice(0, 12))
    await control(m, 'DELETE', '/__harness/faults')
  })
})
