// REST faults of contract 7.2 through a real socket: latency, error statuses, lost responses, slow
// bodies; scopes; probability, after and times; and determinism from the seed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { control, expectErrorEnvelope, headersFor, postJson, QUIET, readRecord, startMock, type TestMock } from './helper.ts'

type Key = { key: string, tenantId: string }
const WALLET = { name: 'Rewards', type: 'mpc', chain: 'ethereum' }

async function timed (p: () => Promise<Response>): Promise<{ status: number, ms: number, res: Response, text: string }> {
  const t0 = performance.now()
  const res = await p()
  const text = await res.text()
  return { status: res.status, ms: performance.now() - t0, res, text }
}
const list = (m: TestMock, k: Key, q = '') => () => fetch(`${m.url}/api/wallet/list${q}`, { headers: headersFor(k) })

describe('REST faults (contract 7.2)', () => {
  let m: TestMock
  let acme2: Key & { id: string }
  beforeAll(async () => {
    m = await startMock(QUIET)
    const r = await control(m, 'POST', '/__harness/keys', { tenant: 'acme' })
    acme2 = { id: r.body.data.id, key: r.body.data.key, tenantId: m.keys.acme.tenantId }
  })
  afterAll(async () => { await m.close() })
  afterEach(async () => { await control(m, 'DELETE', '/__harness/faults') })

  const setPlan = async (plan: unknown) => {
    const r = await control(m, 'PUT', '/__harness/faults', plan)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
  }

  it('delays by a fixed latency', async () => {
    await setPlan({ faults: [{ type: 'latency', ms: 300, scope: { tenant: 'acme' } }] })
    const slow = await timed(list(m, m.keys.acme))
    const fast = await timed(list(m, m.keys.globex))
    expect(slow.status).toBe(200)
    expect(slow.ms).toBeGreaterThanOrEqual(295)
    expect(fast.ms).toBeLessThan(250)
  })

  it('delays by a latency drawn between minMs and maxMs', async () => {
    await setPlan({ faults: [{ id: 'spread', type: 'latency', minMs: 20, maxMs: 120 }] })
    const rids: string[] = []
    for (let i = 0; i < 12; i++) {
      const t = await timed(() => fetch(`${m.url}/api/wallet/list?limit=1`, { headers: headersFor(m.keys.globex, { 'x-request-id': `spread-${i}` }) }))
      expect(t.status).toBe(200)
      expect(t.ms).toBeGreaterThanOrEqual(19)
      rids.push(`spread-${i}`)
    }
    const durations = (await readRecord(m)).filter((e) => rids.includes(e.requestId)).map((e) => e.durationMs as number)
    expect(durations).toHaveLength(12)
    for (const d of durations) {
      expect(d).toBeGreaterThanOrEqual(19)
      expect(d).toBeLessThan(120 + 60)
    }
    // Drawn, not fixed: the spread covers a good part of the range.
    expect(Math.max(...durations) - Math.min(...durations)).toBeGreaterThan(20)
  })

  it('answers injected 500, 502 and 503 (with Retry-After) in the error envelope', async () => {
    for (const [status, code] of [[500, 'internal_error'], [502, 'internal_error'], [503, 'service_unavailable']] as const) {
      await setPlan({ faults: [{ type: 'error', status, retryAfterS: 4 }] })
      const res = await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(m.keys.acme) })
      if (status === 503) expect(res.headers.get('retry-after')).toBe('4')
      else expect(res.headers.get('retry-after')).toBeNull()
      await expectErrorEnvelope(res, status, code)
    }
    await setPlan({ faults: [{ type: 'error', status: 503 }] })
    const res = await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(m.keys.acme) })
    expect(res.headers.get('retry-after')).toBe('1')
    await res.arrayBuffer()
  })

  it('drops the connection after a mutation (lost-response), and never on a read', async () => {
    await setPlan({ faults: [{ type: 'lost-response' }] })
    const read = await fetch(`${m.url}/api/wallet/list?limit=1`, { headers: headersFor(m.keys.globex) })
    expect(read.status).toBe(200)
    await read.arrayBuffer()
    const before = m.app.mock.wallets.count(m.keys.globex.tenantId)
    const err = await postJson(m, '/api/wallet/create', m.keys.globex, WALLET).then(() => undefined, (e: Error) => e)
    expect((err?.cause as { code?: string } | undefined)?.code).toBe('UND_ERR_SOCKET')
    // The mutation happened although the answer was lost.
    expect(m.app.mock.wallets.count(m.keys.globex.tenantId)).toBe(before + 1)
    const entry = (await readRecord(m)).filter((e) => e.method === 'POST').at(-1)!
    expect(entry).toMatchObject({ status: 201, lostResponse: true, faults: ['lost-response#0'] })
  })

  it('sends a slow body in several chunks, measurably slower, and intact', async () => {
    const normal = await timed(list(m, m.keys.acme, '?limit=25'))
    await setPlan({ faults: [{ type: 'slow-body', chunkBytes: 512, delayMs: 25 }] })
    const t0 = performance.now()
    const res = await fetch(`${m.url}/api/wallet/list?limit=25`, { headers: headersFor(m.keys.acme) })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    const chunks: Uint8Array[] = []
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
    }
    const ms = performance.now() - t0
    const body = Buffer.concat(chunks).toString('utf8')
    const expectedChunks = Math.ceil(Buffer.byteLength(normal.text) / 512)
    expect(expectedChunks).toBeGreaterThanOrEqual(4)
    expect(chunks.length).toBeGreaterThanOrEqual(expectedChunks - 1)
    expect(ms).toBeGreaterThanOrEqual((expectedChunks - 1) * 25)
    expect(ms).toBeGreaterThan(normal.ms + 50)
    expect(JSON.parse(body).data).toEqual(JSON.parse(normal.text).data)
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(body))
  })

  it('applies a fault only in its scope: tenant, key or route', async () => {
    const statusOf = async (p: () => Promise<Response>) => { const r = await p(); await r.arrayBuffer(); return r.status }
    const create = (k: Key) => () => postJson(m, '/api/wallet/create', k, WALLET)
    await setPlan({ faults: [{ type: 'error', status: 500, scope: { tenant: 'globex' } }] })
    expect(await statusOf(list(m, m.keys.globex))).toBe(500)
    expect(await statusOf(list(m, m.keys.acme))).toBe(200)
    await setPlan({ faults: [{ type: 'error', status: 500, scope: { tenant: m.keys.acme.tenantId } }] })
    expect(await statusOf(list(m, m.keys.acme))).toBe(500)
    expect(await statusOf(list(m, m.keys.globex))).toBe(200)
    await setPlan({ faults: [{ type: 'error', status: 500, scope: { key: acme2.id } }] })
    expect(await statusOf(list(m, acme2))).toBe(500)
    expect(await statusOf(list(m, m.keys.acme))).toBe(200)
    expect(await statusOf(list(m, m.keys.globex))).toBe(200)
    await setPlan({ faults: [{ type: 'error', status: 500, scope: { route: 'POST /api/wallet/create' } }] })
    expect(await statusOf(create(m.keys.acme))).toBe(500)
    expect(await statusOf(create(m.keys.globex))).toBe(500)
    expect(await statusOf(list(m, m.keys.acme))).toBe(200)
    await setPlan({ faults: [{ type: 'error', status: 500, scope: { route: '/api/wallet/list' } }] })
    expect(await statusOf(list(m, m.keys.globex))).toBe(500)
    expect(await statusOf(create(m.keys.globex))).toBe(201)
    await setPlan({ faults: [{ type: 'error', status: 500, scope: { tenant: 'acme', route: 'GET /api/wallet/list' } }] })
    expect(await statusOf(list(m, m.keys.acme))).toBe(500)
    expect(await statusOf(create(m.keys.acme))).toBe(201)
    expect(await statusOf(list(m, m.keys.globex))).toBe(200)
    // Public routes and refused requests are never faulted.
    await setPlan({ faults: [{ type: 'error', status: 500 }] })
    expect(await statusOf(() => fetch(`${m.url}/health`))).toBe(200)
    expect(await statusOf(() => fetch(`${m.url}/api/wallet/list`))).toBe(401)
  })

  it('lets `after` requests through, then applies the fault `times` times', async () => {
    await setPlan({ faults: [{ type: 'error', status: 503, after: 3, times: 2, scope: { tenant: 'acme' } }] })
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) {
      statuses.push((await timed(list(m, m.keys.acme))).status)
      // Other tenants' requests neither count toward `after` nor use up `times`.
      expect((await timed(list(m, m.keys.globex))).status).toBe(200)
    }
    expect(statuses).toEqual([200, 200, 200, 503, 503, 200, 200, 200])
    const stats = (await control(m, 'GET', '/__harness/faults')).body.data.stats
    expect(stats).toEqual([{ id: 'error#0', type: 'error', seen: 8, applied: 2 }])
  })

  it('applies a fault with probability p to about p of the requests', async () => {
    await setPlan({ seed: 9, faults: [{ type: 'error', status: 500, probability: 0.3 }] })
    let hit = 0
    for (let i = 0; i < 100; i++) if ((await timed(list(m, m.keys.globex, '?limit=1'))).status === 500) hit++
    expect(hit).toBeGreaterThan(12)
    expect(hit).toBeLessThan(50)
    await setPlan({ faults: [{ type: 'error', status: 500, probability: 0 }] })
    for (let i = 0; i < 20; i++) expect((await timed(list(m, m.keys.globex, '?limit=1'))).status).toBe(200)
  })
})

describe('fault determinism (contract 7.2)', () => {
  const plan = {
    faults: [
      { id: 'flaky', type: 'error', status: 500, probability: 0.35 },
      { id: 'sometimes-slow', type: 'latency', minMs: 0, maxMs: 3, probability: 0.5 },
      { id: 'burst', type: 'error', status: 503, after: 10, times: 3, scope: { tenant: 'globex' } },
      { id: 'creates', type: 'error', status: 502, probability: 0.5, scope: { route: 'POST /api/wallet/create' } }
    ]
  }

  async function run (seed: number, planSeed?: number): Promise<unknown[]> {
    const m = await startMock({ ...QUIET, seed })
    try {
      await control(m, 'PUT', '/__harness/faults', { ...plan, ...(planSeed === undefined ? {} : { seed: planSeed }) })
      const after = (await readRecord(m)).at(-1)!.seq as number
      for (let i = 0; i < 40; i++) {
        const k = i % 3 === 0 ? m.keys.globex : m.keys.acme
        const r = i % 4 === 0 ? await postJson(m, '/api/wallet/create', k, WALLET) : await fetch(`${m.url}/api/wallet/list?limit=2`, { headers: headersFor(k) })
        await r.arrayBuffer()
      }
      return (await readRecord(m, after)).filter((e) => e.path !== '/__harness/record').map((e) => [e.method, e.status, e.faults])
    } finally {
      await m.close()
    }
  }

  it('applies the same faults for the same seed and the same request sequence, and others for another seed', async () => {
    const a = await run(5)
    const b = await run(5)
    expect(a).toHaveLength(40)
    expect(b).toEqual(a)
    const faulted = a.filter((e) => (e as unknown[])[2] !== null).length
    expect(faulted).toBeGreaterThan(5)
    expect(faulted).toBeLessThan(40)
    // The plan's own seed overrides the mock's; a different one gives a different schedule.
    expect(await run(6, 5)).toEqual(a)
    expect(await run(5, 77)).not.toEqual(a)
  })
})
