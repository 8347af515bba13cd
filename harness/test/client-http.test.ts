// The reference client's requests against the real mock over real sockets: headers, retries,
// Retry-After, idempotent creates, cursor walks and the client-side limit (contract 1, 3, 5, 6, 7.2).
// Where the test is about waiting, the mock and the client share one fake clock (buildApp deps.now),
// so a Retry-After of seconds costs no real time and the record's timestamps are on the client's clock.
import { afterEach, describe, expect, it } from 'vitest'
import { SpanKind } from '@opentelemetry/api'
import { createTenzroClient, backoffMs } from '../src/client/index.ts'
import { fakeKey } from '../../mock-server/test/helper.ts'
import { memoryTracer, clearFaults, createKey, fakeTime, recordMark, rejection, requestsOf, seeded, setFaults, startClientMock, type TestMock } from './helpers/mock.ts'

let mock: TestMock | undefined
afterEach(async () => {
  await mock?.close()
  mock = undefined
})

async function withFakeClock () {
  const clock = fakeTime()
  mock = await startClientMock({}, { now: clock.now })
  const k = mock.keys.acme
  /** The wallets API of a client on the shared fake clock. */
  const client = (opts: Parameters<typeof createTenzroClient>[0]['retry'] = {}, random = seeded(1)) => createTenzroClient({
    baseUrl: mock!.url, apiKey: k.key, tenantId: k.tenantId, now: clock.now, sleep: clock.sleep, random, retry: opts
  }).wallets
  return { clock, mock, k, client }
}

describe('reference client: requests', () => {
  it('sends the key and tenant only in headers, and one X-Request-Id on every attempt of a request', async () => {
    const { mock, k, client, clock } = await withFakeClock()
    await setFaults(mock, { faults: [{ type: 'error', status: 503, retryAfterS: 1, times: 2, scope: { route: 'GET /api/wallet/list' } }] })
    const mark = await recordMark(mock)
    const page = await client().list({ limit: 5 })
    expect(page.wallets).toHaveLength(5)
    const reqs = await requestsOf(mock, k.id, mark)
    expect(reqs.map((r) => r.status)).toEqual([503, 503, 200])
    // Contract 1.2: the id we sent is echoed; the same logical request keeps it across retries.
    expect(new Set(reqs.map((r) => r.requestId)).size).toBe(1)
    expect(reqs.every((r) => r.clientRequestId === true)).toBe(true)
    expect(reqs[0]!.requestId).toBe(page.requestId)
    for (const r of reqs) {
      expect(r.auth).toBe('ok')
      expect(r.secretInUrl).toBeUndefined()
      expect(r.path).toBe('/api/wallet/list')
    }
    // 7.2 error 503 carries Retry-After: 1; the next attempt arrives no sooner (fake clock: ts is the arrival).
    expect(reqs[1]!.ts - reqs[0]!.ts).toBeGreaterThanOrEqual(1000)
    expect(reqs[2]!.ts - reqs[1]!.ts).toBeGreaterThanOrEqual(1000)
    expect(clock.sleeps).toEqual([1000, 1000])
  })

  it('waits out the Retry-After of a forced 429 burst before sending again', async () => {
    const { mock, k, client, clock } = await withFakeClock()
    await setFaults(mock, { faults: [{ type: 'rate-limit-burst', retryAfterS: 3, times: 2, scope: { key: k.id } }] })
    const mark = await recordMark(mock)
    await client().list()
    const reqs = await requestsOf(mock, k.id, mark)
    expect(reqs.map((r) => r.status)).toEqual([429, 429, 200])
    expect(reqs[1]!.ts - reqs[0]!.ts).toBeGreaterThanOrEqual(3000)
    expect(reqs[2]!.ts - reqs[1]!.ts).toBeGreaterThanOrEqual(3000)
    // Each retry waited the Retry-After; the burst's X-RateLimit-Remaining: 0 may add a wait up to its Reset.
    expect(clock.sleeps.filter((ms) => ms === 3000)).toHaveLength(2)
  })

  it('takes a Retry-After given as an HTTP date', async () => {
    const clock = fakeTime()
    const at = new Date(clock.now() + 4000).toUTCString()
    let calls = 0
    const fetch = async () => {
      calls++
      return calls === 1
        ? new Response('{"error":{"code":"service_unavailable","message":"busy","details":[]}}', { status: 503, headers: { 'retry-after': at } })
        : new Response('{"data":[],"meta":{"cursor":null,"hasMore":false}}', { status: 200 })
    }
    const c = createTenzroClient({ baseUrl: 'http://127.0.0.1:9', apiKey: fakeKey('acme'), tenantId: 'acme', fetch, now: clock.now, sleep: clock.sleep })
    await c.wallets.list()
    // The date has whole seconds: the wait is at most 4 s and ends at the date.
    expect(clock.sleeps).toHaveLength(1)
    expect(clock.sleeps[0]!).toBeGreaterThan(3000)
    expect(clock.sleeps[0]!).toBeLessThanOrEqual(4000)
  })

  it('retries 500 with capped full-jitter backoff and stops after maxAttempts', async () => {
    const { mock, k, client, clock } = await withFakeClock()
    await setFaults(mock, { faults: [{ type: 'error', status: 500, scope: { route: 'GET /api/wallet/list' } }] })
    const mark = await recordMark(mock)
    const err = await rejection(client({ maxAttempts: 4, baseMs: 100, capMs: 300 }, seeded(5)).list())
    expect(err.name).toBe('TenzroApiError')
    expect([err.status, err.code, err.attempts]).toEqual([500, 'internal_error', 4])
    expect(err.requestId).toMatch(/^tnzc-/)
    expect(await requestsOf(mock, k.id, mark)).toHaveLength(4)
    // The waits are the seeded full-jitter draws, each under min(cap, base * 2^n).
    const r = seeded(5)
    expect(clock.sleeps).toEqual([0, 1, 2].map((n) => backoffMs(n, 100, 300, r)))
    clock.sleeps.forEach((ms, n) => expect(ms).toBeLessThan(Math.min(300, 100 * 2 ** n)))
  })

  it('retries 502 and network failures of a read, and succeeds when the server recovers', async () => {
    const { mock, k, client } = await withFakeClock()
    await setFaults(mock, { faults: [{ type: 'error', status: 502, times: 3, scope: { route: 'GET /api/wallet/list' } }] })
    const mark = await recordMark(mock)
    const page = await client({ maxAttempts: 4 }).list()
    expect(page.wallets.length).toBeGreaterThan(0)
    expect((await requestsOf(mock, k.id, mark)).map((r) => r.status)).toEqual([502, 502, 502, 200])
  })

  it('gives up at once when Retry-After reaches past the deadline, and says how long to wait', async () => {
    const { mock, k, client, clock } = await withFakeClock()
    await setFaults(mock, { faults: [{ type: 'error', status: 503, retryAfterS: 120, scope: { route: 'GET /api/wallet/list' } }] })
    const mark = await recordMark(mock)
    const err = await rejection(client({ deadlineMs: 5000 }).list())
    expect([err.code, err.status, err.retryAfterMs, err.attempts]).toEqual(['service_unavailable', 503, 120_000, 1])
    expect(err.message).toMatch(/deadline/)
    expect(clock.sleeps).toEqual([])
    expect(await requestsOf(mock, k.id, mark)).toHaveLength(1)
  })

  it('never retries a 4xx other than 429: a wrong key is one request and a clear error', async () => {
    const { mock, client } = await withFakeClock()
    const mark = await recordMark(mock)
    const bad = createTenzroClient({ baseUrl: mock.url, apiKey: fakeKey('acme'), tenantId: 'acme' })
    const err = await rejection(bad.wallets.list())
    expect([err.status, err.code, err.attempts]).toEqual([401, 'invalid_api_key', 1])
    const cursorErr = await rejection(client().list({ cursor: 'not-a-cursor' }))
    expect([cursorErr.status, cursorErr.code, cursorErr.details[0]?.field]).toEqual([400, 'validation_error', 'cursor'])
    const entries = (await requestsOf(mock, mock.keys.acme.id, mark))
    expect(entries).toHaveLength(1)
  })

  it('creates exactly one wallet across a lost response, sending the same idempotency key again', async () => {
    const { mock, k, client } = await withFakeClock()
    const before = mock.app.mock.wallets.count(k.tenantId)
    await setFaults(mock, { faults: [{ type: 'lost-response', times: 1, scope: { route: 'POST /api/wallet/create' } }] })
    const mark = await recordMark(mock)
    const created = await client().create({ name: 'treasury', type: 'mpc', chain: 'ethereum' })
    expect(created.replayed).toBe(true)
    expect(created.wallet.name).toBe('treasury')
    expect(mock.app.mock.wallets.count(k.tenantId)).toBe(before + 1)
    const reqs = await requestsOf(mock, k.id, mark)
    expect(reqs).toHaveLength(2)
    expect(reqs[0]!.lostResponse).toBe(true)
    expect(reqs.map((r) => r.idempotencyKey)).toEqual([created.idempotencyKey, created.idempotencyKey])
    expect(reqs[1]!.idempotency).toBe('replayed')
    expect(reqs[0]!.requestId).toBe(reqs[1]!.requestId)
  })

  it('uses a new idempotency key for each logical create, and the caller’s key when given', async () => {
    const { client } = await withFakeClock()
    const api = client()
    const a = await api.create({ name: 'a', type: 'single', chain: 'bitcoin' })
    const b = await api.create({ name: 'a', type: 'single', chain: 'bitcoin' })
    expect(a.idempotencyKey).not.toBe(b.idempotencyKey)
    expect(a.wallet.id).not.toBe(b.wallet.id)
    const c = await api.create({ name: 'c', type: 'single', chain: 'solana' }, { idempotencyKey: 'order-4711' })
    const again = await api.create({ name: 'c', type: 'single', chain: 'solana' }, { idempotencyKey: 'order-4711' })
    expect(again.wallet.id).toBe(c.wallet.id)
    expect(again.replayed).toBe(true)
    // 422 idempotency_key_reused is the caller's mistake: not retried.
    const err = await rejection(api.create({ name: 'other', type: 'single', chain: 'solana' }, { idempotencyKey: 'order-4711' }))
    expect([err.status, err.code, err.attempts]).toEqual([422, 'idempotency_key_reused', 1])
  })

  it('retries 409 idempotency_in_progress until the first request has finished', async () => {
    mock = await startClientMock()
    const k = mock.keys.acme
    await setFaults(mock, { faults: [{ type: 'latency', ms: 400, times: 1, scope: { route: 'POST /api/wallet/create' } }] })
    const c = createTenzroClient({ baseUrl: mock.url, apiKey: k.key, tenantId: k.tenantId, random: seeded(3), retry: { baseMs: 150, capMs: 400, maxAttempts: 10 } })
    const mark = await recordMark(mock)
    const input = { name: 'twice', type: 'mpc', chain: 'solana' } as const
    const first = c.wallets.create(input, { idempotencyKey: 'same-key-1' })
    await new Promise((resolve) => setTimeout(resolve, 50))
    const second = await c.wallets.create(input, { idempotencyKey: 'same-key-1' })
    expect(second.wallet.id).toBe((await first).wallet.id)
    expect(second.replayed).toBe(true)
    const statuses = (await requestsOf(mock, k.id, mark)).map((r) => r.status)
    expect(statuses).toContain(409)
    expect(statuses.filter((s) => s === 201)).toHaveLength(2) // the first, and the replay
  })

  it('lists every wallet exactly once across 429s, 5xx and pages, while wallets are being created', async () => {
    const { mock, k, client } = await withFakeClock()
    const api = client({ maxAttempts: 10 }, seeded(11))
    const expected: string[] = []
    for await (const w of api.all({ limit: 100 })) expected.push(w.id)
    expect(expected.length).toBe(25)
    await setFaults(mock, {
      seed: 99,
      faults: [
        { type: 'error', status: 503, retryAfterS: 1, probability: 0.25, scope: { route: 'GET /api/wallet/list' } },
        { type: 'rate-limit-burst', retryAfterS: 2, probability: 0.2, scope: { route: 'GET /api/wallet/list' } },
        { type: 'error', status: 502, probability: 0.2, scope: { route: 'GET /api/wallet/list' } }
      ]
    })
    const mark = await recordMark(mock)
    const seen: string[] = []
    let created = 0
    for await (const w of api.all({ limit: 4 })) {
      seen.push(w.id)
      if (seen.length % 5 === 0) { await api.create({ name: `new-${created++}`, type: 'single', chain: 'ethereum' }) }
    }
    // Contract 3.2: wallets created during the walk are newer than the cursor, so not in it.
    expect(seen).toEqual(expected)
    const statuses = (await requestsOf(mock, k.id, mark)).filter((r) => r.method === 'GET').map((r) => r.status)
    expect(statuses).toContain(429)
    expect(statuses).toContain(503)
    expect(statuses).toContain(502)
  })

  it('reads a slow body whole, and retries an attempt that outlasts attemptTimeoutMs', async () => {
    mock = await startClientMock()
    const k = mock.keys.acme
    await setFaults(mock, { faults: [{ type: 'slow-body', chunkBytes: 512, delayMs: 40, times: 2, scope: { route: 'GET /api/wallet/list' } }] })
    const mark = await recordMark(mock)
    const patient = createTenzroClient({ baseUrl: mock.url, apiKey: k.key, tenantId: k.tenantId })
    expect((await patient.wallets.list()).wallets).toHaveLength(20)
    const t = memoryTracer()
    const hasty = createTenzroClient({ baseUrl: mock.url, apiKey: k.key, tenantId: k.tenantId, random: seeded(4), tracer: t.tracer, retry: { attemptTimeoutMs: 60 } })
    const page = await hasty.wallets.list()
    expect(page.wallets).toHaveLength(20)
    // The first attempt was cut at 60 ms and retried under the same request id.
    const attempts = (await t.spans()).filter((s) => s.kind === SpanKind.CLIENT)
    expect(attempts.map((s) => s.attributes['error.type'])).toEqual(['timeout', undefined])
    const reqs = await requestsOf(mock, k.id, mark)
    expect(reqs.at(-1)!.requestId).toBe(page.requestId)
    expect(reqs.at(-1)!.faults).toBeNull()
    await t.shutdown()
  })

  it('passes the caller’s abort through as an aborted error', async () => {
    const { mock, client } = await withFakeClock()
    await setFaults(mock, { faults: [{ type: 'latency', ms: 5000, scope: { route: 'GET /api/wallet/list' } }] })
    const ac = new AbortController()
    const p = client().list({ signal: ac.signal })
    setTimeout(() => ac.abort(), 50)
    const err = await rejection(p)
    expect(err.code).toBe('aborted')
    await clearFaults(mock)
  })
})

describe('reference client: client-side limit', () => {
  for (const algorithm of ['fixed-window', 'sliding-window'] as const) {
    it(`never sees a 429 in a steady concurrent run under the limit it was told (${algorithm} server)`, async () => {
      mock = await startClientMock({ rateLimit: { algorithm, windowMs: 1000 } })
      const key = await createKey(mock, 'acme', { rateLimit: 10 })
      const keyId = key.id
      const c = createTenzroClient({ baseUrl: mock.url, apiKey: key.key, tenantId: 'acme', limit: { limit: 10, windowMs: 1000 } })
      const mark = await recordMark(mock)
      let left = 20
      const worker = async () => { while (left-- > 0) await c.wallets.list({ limit: 1 }) }
      await Promise.all(Array.from({ length: 6 }, worker))
      const reqs = await requestsOf(mock, keyId, mark)
      expect(reqs).toHaveLength(20)
      expect(reqs.filter((r) => r.status === 429)).toEqual([])
    })
  }

  it('paces itself by X-RateLimit-Remaining/Reset when it was told no limit', async () => {
    mock = await startClientMock({ rateLimit: { windowMs: 1000 } })
    const key = await createKey(mock, 'acme', { rateLimit: 8 })
    const c = createTenzroClient({ baseUrl: mock.url, apiKey: key.key, tenantId: 'acme', limit: false })
    const mark = await recordMark(mock)
    let left = 20
    const worker = async () => { while (left-- > 0) await c.wallets.list({ limit: 1 }) }
    await Promise.all(Array.from({ length: 3 }, worker))
    const reqs = await requestsOf(mock, key.id, mark)
    expect(reqs).toHaveLength(20)
    expect(reqs.filter((r) => r.status === 429)).toEqual([])
  })
})
