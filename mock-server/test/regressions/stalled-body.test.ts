// Regression: a request body that never completes was held forever (no 408, no close after 200 s).
// The timeouts are configurable; here they are short so the test is quick.
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { headersFor, readRecord, startMock, type TestMock } from '../helper.ts'
import type { MockConfigInput } from '../../src/config.ts'

let m: TestMock
beforeAll(async () => { m = await startMock({ logLevel: 'silent', http: { headersTimeoutMs: 1000, requestTimeoutMs: 1500 } } as MockConfigInput) })
afterAll(async () => { await m.close() })

function raw (text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(Number(new URL(m.url).port), '127.0.0.1')
    let out = ''
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer within 10 s; got ${JSON.stringify(out)}`)) }, 10_000)
    s.on('data', (c) => { out += String(c) })
    s.on('close', () => { clearTimeout(timer); resolve(out) })
    s.on('error', () => {})
    s.write(text)
  })
}

describe('a request body that never completes', () => {
  it('is answered 408 in the envelope and the connection closed, and the request is in the record', async () => {
    const h = headersFor(m.keys.acme)
    const answer = await raw(`POST /api/wallet/create HTTP/1.1\r\nHost: x\r\nX-Request-Id: stalled-body\r\nX-API-Key: ${h['x-api-key']}\r\nX-Tenant-Id: ${h['x-tenant-id']}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`)
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))
    expect(body.error.code).toBe('validation_error')
    expect(body.meta.requestId).toBe('stalled-body')
    const rec = await readRecord(m)
    expect(rec.filter((e) => e.type === 'request' && e.requestId === 'stalled-body').map((e) => e.status)).toEqual([408])
  })
})
