// Regression: answers outside the envelope: a request without Host got a bare 400 without
// X-Request-Id; an Expect other than 100-continue a bare 417; oversized headers 400 instead of 431;
// header timeouts 400 instead of 408.
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMock, type TestMock } from '../helper.ts'
import type { MockConfigInput } from '../../src/config.ts'

let m: TestMock
beforeAll(async () => { m = await startMock({ logLevel: 'silent', http: { headersTimeoutMs: 1000, requestTimeoutMs: 2000 } } as MockConfigInput) })
afterAll(async () => { await m.close() })

function raw (text: string, opts: { end?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(Number(new URL(m.url).port), '127.0.0.1')
    let out = ''
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer within 10 s; got ${JSON.stringify(out)}`)) }, 10_000)
    s.on('data', (c) => {
      out += String(c)
      // Keep-alive answers: stop once one whole answer is in.
      const head = out.indexOf('\r\n\r\n')
      const len = /content-length: (\d+)/i.exec(out)
      if (head !== -1 && len !== null && out.length >= head + 4 + Number(len[1])) s.destroy()
    })
    s.on('close', () => { clearTimeout(timer); resolve(out) })
    s.on('error', () => {})
    s.write(text)
    if (opts.end === true) s.end()
  })
}

function envelope (answer: string, status: number) {
  expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `))
  const head = answer.slice(0, answer.indexOf('\r\n\r\n'))
  const rid = /\r\nx-request-id: (\S+)/i.exec(head)
  expect(rid, head).not.toBeNull()
  expect(head).toMatch(/\r\ncontent-type: application\/json/i)
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))
  expect(Object.keys(body).sort()).toEqual(['error', 'meta'])
  expect(body.meta.requestId).toBe(rid![1])
  return body
}

describe('errors of the HTTP layer, in the envelope', () => {
  it('answers a request without Host 400 validation_error naming Host', async () => {
    const body = envelope(await raw('GET /health HTTP/1.1\r\n\r\n'), 400)
    expect(body.error.code).toBe('validation_error')
    expect(body.error.details[0].field).toBe('Host')
  })

  it('answers an Expect other than 100-continue 417 with the envelope', async () => {
    const body = envelope(await raw('GET /health HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n'), 417)
    expect(body.error.details[0].field).toBe('Expect')
  })

  it('answers oversized headers 431', async () => {
    const body = envelope(await raw(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431)
    expect(body.error.details[0].field).toBe('headers')
  })

  it('answers headers that never complete 408', async () => {
    const body = envelope(await raw('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: 1'), 408)
    expect(body.error.details[0].field).toBe('headers')
  })

  it('answers a method the server does not implement 501, and a known method on a path without it 405 with Allow', async () => {
    envelope(await raw('BREW /health HTTP/1.1\r\nHost: x\r\n\r\n'), 501)
    const answer = await raw('PUT /api/wallet/list HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')
    envelope(answer, 405)
    expect(answer).toMatch(/\r\nallow: GET, HEAD\r\n/i)
  })
})
