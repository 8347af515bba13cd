// Bad input never yields a 500 (contract 1.5, 1.6): a little property-based fuzzing over headers, query
// values and bodies of the wallet routes, through a real socket. Every answer is below 500 and in the
// envelope of 1.4 or 1.5, with X-Request-Id equal to meta.requestId.
import { connect } from 'node:net'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { headersFor, QUIET, startMock, type TestMock } from './helper.ts'

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 })
const HEADER_NAMES = ['x-api-key', 'authorization', 'x-tenant-id', 'x-request-id', 'x-api-version', 'x-network', 'x-idempotency-key', 'content-type', 'accept', 'x-admin-api-key', 'content-encoding']

/** Header values a client could plausibly send: random, near-valid, and valid ones from the tenants. */
function headerValue (m: () => TestMock) {
  return fc.oneof(
    printable,
    fc.constantFrom('1', '2', '0', '', 'devnet', 'mainnet', 'application/json', 'text/plain', 'application/json; charset=utf-16', 'gzip', 'Bearer ', 'acme', 'globex'),
    fc.constant(null).map(() => m().keys.acme.key),
    fc.constant(null).map(() => `Bearer ${m().keys.globex.key}`),
    fc.constant(null).map(() => m().keys.globex.tenantId),
    printable.map((s) => `tnz_acme_${s}`)
  )
}

/** Query values, including raw percent-escapes that do not decode. */
const queryValue = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => encodeURIComponent(s)),
  fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', '-1', '0', '101', '1e2', '20', 'ethereum', 'solana', 'bitcoin', 'dogecoin', 'eyJiIjoxfQ', ''),
  fc.integer({ min: -1000, max: 1000 }).map(String)
)
const query = fc.array(fc.tuple(fc.constantFrom('limit', 'cursor', 'chain', 'api_key', 'x', 'limit[]', '__proto__'), queryValue), { maxLength: 4 })
  .map((pairs) => pairs.length === 0 ? '' : '?' + pairs.map(([k, v]) => `${k}=${v}`).join('&'))

/** Bodies: arbitrary JSON, near-valid wallets, and text that is not JSON. */
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.record({
    name: fc.oneof(fc.string({ maxLength: 70 }), fc.integer(), fc.constant(null)),
    type: fc.oneof(fc.constantFrom('mpc', 'multi-sig', 'single', 'MPC'), fc.string({ maxLength: 10 })),
    chain: fc.oneof(fc.constantFrom('ethereum', 'solana', 'bitcoin'), fc.string({ maxLength: 10 }))
  }, { requiredKeys: [] }).chain((w) => fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 })).map((extra) => JSON.stringify({ ...w, ...extra }))),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', '{"name":"a"', '[]', 'null', '""', '{}', '\u0000', '{"name":"\\ud800","type":"mpc","chain":"bitcoin"}')
)

function checkAnswer (status: number, headers: Headers, text: string): void {
  expect(status, text).toBeLessThan(500)
  const parsed = JSON.parse(text)
  const rid = headers.get('x-request-id')
  expect(rid).toBeTruthy()
  if (status >= 400) {
    expect(Object.keys(parsed).sort()).toEqual(['error', 'meta'])
    expect(typeof parsed.error.code).toBe('string')
    expect(typeof parsed.error.message).toBe('string')
    expect(Array.isArray(parsed.error.details)).toBe(true)
  } else {
    expect(Object.keys(parsed).sort()).toEqual(['data', 'meta'])
  }
  expect(parsed.meta.requestId).toBe(rid)
}

describe('fuzzed input on the wallet routes (contract 1.5)', () => {
  let m: TestMock
  beforeAll(async () => { m = await startMock(QUIET) })
  afterAll(async () => { await m.close() })
  const headers = fc.dictionary(fc.constantFrom(...HEADER_NAMES), headerValue(() => m), { maxKeys: 4 })

  it('answers GET /api/wallet/list below 500, in the envelope, whatever the headers and query', async () => {
    await fc.assert(fc.asyncProperty(headers, query, fc.boolean(), async (h, q, authed) => {
      const res = await fetch(`${m.url}/api/wallet/list${q}`, { headers: { ...(authed ? headersFor(m.keys.acme) : {}), ...h } })
      checkAnswer(res.status, res.headers, await res.text())
    }), { numRuns: 150, seed: 20260601 })
  })

  it('answers POST /api/wallet/create below 500, in the envelope, whatever the headers and body', async () => {
    await fc.assert(fc.asyncProperty(headers, body, fc.boolean(), async (h, b, authed) => {
      const base = authed ? headersFor(m.keys.globex, { 'content-type': 'application/json' }) : { 'content-type': 'application/json' }
      const res = await fetch(`${m.url}/api/wallet/create`, { method: 'POST', headers: { ...base, ...h }, body: b })
      checkAnswer(res.status, res.headers, await res.text())
    }), { numRuns: 150, seed: 20260602 })
  })

  it('answers raw bytes and odd paths below 500, in the envelope', async () => {
    const path = fc.oneof(
      fc.constantFrom('/api/wallet/list', '/api/wallet/create', '/api/wallet', '/api/wallet/list/', '/api//wallet/list', '/api/wallet/%', '/api/keys/%zz', '/api/keys/' + 'k'.repeat(150)),
      fc.string({ maxLength: 30 }).map((s) => '/api/wallet/' + encodeURIComponent(s))
    )
    await fc.assert(fc.asyncProperty(path, fc.uint8Array({ maxLength: 300 }), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), async (p, bytes, method) => {
      const res = await fetch(m.url + p, {
        method,
        headers: headersFor(m.keys.acme, { 'content-type': 'application/json', 'x-admin-api-key': m.keys.acme.key }),
        ...(method === 'GET' ? {} : { body: bytes })
      })
      checkAnswer(res.status, res.headers, await res.text())
    }), { numRuns: 120, seed: 20260603 })
  })
})

/** Write raw bytes on a fresh connection and read everything until the server closes it. */
function raw (url: string, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(Number(new URL(url).port), '127.0.0.1')
    let out = ''
    s.on('data', (c: Buffer) => { out += c.toString('latin1') })
    s.on('close', () => resolve(out))
    s.on('error', reject)
    s.write(bytes)
    // A cut-off body: end our side so the server sees the request is incomplete.
    if (bytes.includes('content-length: 50')) s.end()
  })
}

describe('requests that are not valid HTTP (contract 1.5)', () => {
  let m: TestMock
  beforeAll(async () => { m = await startMock(QUIET) })
  afterAll(async () => { await m.close() })

  it('answers malformed framing and a cut-off body with 400, oversized headers with 431, in the envelope', async () => {
    const k = m.keys.acme
    const cases: Array<[string, string, number]> = [
      ['GET /api/wallet/list HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n', 'request', 400],
      [`POST /api/wallet/create HTTP/1.1\r\nHost: x\r\nx-api-key: ${k.key}\r\nx-tenant-id: acme\r\ncontent-type: application/json\r\ncontent-length: 50\r\n\r\n{"name":`, 'request', 400],
      [`GET /api/wallet/list HTTP/1.1\r\nHost: x\r\nx-pad: ${'a'.repeat(20_000)}\r\n\r\n`, 'headers', 431]
    ]
    for (const [bytes, field, status] of cases) {
      const answer = await raw(m.url, bytes)
      expect(answer.startsWith(`HTTP/1.1 ${status} `), answer.slice(0, 200)).toBe(true)
      const [head, body] = answer.split('\r\n\r\n')
      const parsed = JSON.parse(body!)
      expect(parsed.error).toMatchObject({ code: 'validation_error', details: [{ field }] })
      expect(head).toContain(`X-Request-Id: ${parsed.meta.requestId}`)
      expect(parsed.meta.requestId).toMatch(/^req_[A-Za-z0-9]{26}$/)
      expect(answer).not.toContain(k.key)
    }
  })
})
