// Idempotency keys (contract 6) through a real socket, with two tenants: concurrent duplicates, replay,
// body mismatch, lost responses and the record's mark for POSTs without a key.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { control, expectErrorEnvelope, fakeClock, headersFor, jsonOf, postJson, QUIET, readRecord, startMock, type TestMock } from './helper.ts'

type Key = { key: string, tenantId: string }
const WALLET = { name: 'Payroll', type: 'multi-sig', chain: 'bitcoin' }

async function walletCount (m: TestMock, k: Key): Promise<number> {
  let n = 0
  let cursor: string | null = null
  do {
    const res = await fetch(`${m.url}/api/wallet/list?limit=100${cursor === null ? '' : `&cursor=${cursor}`}`, { headers: headersFor(k) })
    const body = await jsonOf(res) as { data: unknown[], meta: { cursor: string | null } }
    n += body.data.length
    cursor = body.meta.cursor
  } while (cursor !== null)
  return n
}

describe('idempotency keys (contract 6.1)', () => {
  const clock = fakeClock()
  let m: TestMock
  beforeAll(async () => { m = await startMock(QUIET, { now: clock.now }) })
  afterAll(async () => { await m.close() })
  afterEach(async () => { await control(m, 'DELETE', '/__harness/faults') })

  it('creates exactly one wallet per tenant from 50 concurrent POSTs with one key and body', async () => {
    // A latency fault keeps the first request running while the other 49 arrive.
    expect((await control(m, 'PUT', '/__harness/faults', { faults: [{ type: 'latency', ms: 400, scope: { route: 'POST /api/wallet/create' } }] })).status).toBe(200)
    const before = { acme: await walletCount(m, m.keys.acme), globex: await walletCount(m, m.keys.globex) }
    // The same idempotency key in both tenants: keys are per tenant, so each tenant gets its own wallet.
    const send = (k: Key) => postJson(m, '/api/wallet/create', k, WALLET, { 'x-idempotency-key': 'concurrent-50' })
    const answers = await Promise.all([
      ...Array.from({ length: 50 }, () => send(m.keys.acme)),
      ...Array.from({ length: 50 }, () => send(m.keys.globex))
    ])
    const bodies = await Promise.all(answers.map(async (r) => ({ status: r.status, replayed: r.headers.get('idempotent-replayed'), text: await r.text() })))
    for (const [slug, part] of [['acme', bodies.slice(0, 50)], ['globex', bodies.slice(50)]] as const) {
      const created = part.filter((b) => b.status === 201)
      const originals = created.filter((b) => b.replayed === null)
      expect(originals, slug).toHaveLength(1)
      for (const b of created) {
        expect(b.text).toBe(originals[0]!.text)
        if (b !== originals[0]) expect(b.replayed).toBe('true')
      }
      const conflicts = part.filter((b) => b.status === 409)
      expect(conflicts.length).toBeGreaterThan(0)
      for (const b of conflicts) expect(JSON.parse(b.text).error.code).toBe('idempotency_in_progress')
      expect(created.length + conflicts.length).toBe(50)
    }
    expect(await walletCount(m, m.keys.acme)).toBe(before.acme + 1)
    expect(await walletCount(m, m.keys.globex)).toBe(before.globex + 1)
    expect(JSON.parse(bodies[0]!.status === 201 ? bodies[0]!.text : bodies.find((b) => b.status === 201)!.text).data.id)
      .not.toBe(JSON.parse(bodies.slice(50).find((b) => b.status === 201)!.text).data.id)
  })

  it('replays the stored answer with Idempotent-Replayed: true, also for the same body in another key order', async () => {
    const first = await postJson(m, '/api/wallet/create', m.keys.acme, WALLET, { 'x-idempotency-key': 'replay-1' })
    expect(first.status).toBe(201)
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    const stored = await first.text()
    const count = await walletCount(m, m.keys.acme)
    for (const body of [WALLET, { chain: WALLET.chain, type: WALLET.type, name: WALLET.name }]) {
      const again = await postJson(m, '/api/wallet/create', m.keys.acme, body, { 'x-idempotency-key': 'replay-1' })
      expect(again.status).toBe(201)
      expect(again.headers.get('idempotent-replayed')).toBe('true')
      expect(await again.text()).toBe(stored)
    }
    expect(await walletCount(m, m.keys.acme)).toBe(count)
    // The other tenant's use of the same key is a new request, not the first tenant's replay.
    const other = await postJson(m, '/api/wallet/create', m.keys.globex, WALLET, { 'x-idempotency-key': 'replay-1' })
    expect(other.status).toBe(201)
    expect(other.headers.get('idempotent-replayed')).toBeNull()
    expect(JSON.parse(await other.text()).data.id).not.toBe(JSON.parse(stored).data.id)
  })

  it('answers 422 idempotency_key_reused for the same key with another body, creating nothing', async () => {
    for (const k of [m.keys.acme, m.keys.globex]) {
      expect((await postJson(m, '/api/wallet/create', k, WALLET, { 'x-idempotency-key': 'mismatch-1' })).status).toBe(201)
      const count = await walletCount(m, k)
      for (const body of [{ ...WALLET, name: 'Different' }, { ...WALLET, chain: 'solana' }]) {
        const res = await postJson(m, '/api/wallet/create', k, body, { 'x-idempotency-key': 'mismatch-1' })
        const e = await expectErrorEnvelope(res, 422, 'idempotency_key_reused')
        expect(e.error.details.map((d) => d.field)).toEqual(['X-Idempotency-Key'])
      }
      expect(await walletCount(m, k)).toBe(count)
    }
  })

  it('creates one wallet when the answer is lost and the client retries with the same key (7.2 lost-response)', async () => {
    expect((await control(m, 'PUT', '/__harness/faults', { faults: [{ type: 'lost-response', times: 1, scope: { tenant: 'acme' } }] })).status).toBe(200)
    for (const k of [m.keys.acme, m.keys.globex]) {
      const count = await walletCount(m, k)
      const send = () => postJson(m, '/api/wallet/create', k, WALLET, { 'x-idempotency-key': 'lost-1' })
      if (k === m.keys.acme) {
        const lost = await send().then(() => 'answered', (err: Error) => (err.cause as { code?: string } | undefined)?.code ?? err.message)
        expect(lost).toBe('UND_ERR_SOCKET')
        const retry = await send()
        expect(retry.status).toBe(201)
        expect(retry.headers.get('idempotent-replayed')).toBe('true')
      } else {
        // The fault is scoped to acme: globex's answer arrives.
        const res = await send()
        expect(res.status).toBe(201)
        expect(res.headers.get('idempotent-replayed')).toBeNull()
      }
      expect(await walletCount(m, k)).toBe(count + 1)
    }
    const lostEntries = (await readRecord(m)).filter((e) => e.lostResponse === true)
    expect(lostEntries).toHaveLength(1)
    expect(lostEntries[0]).toMatchObject({ idempotencyKey: 'lost-1', status: 201, tenant: m.keys.acme.tenantId, faults: ['lost-response#0'] })
  })

  it('does not store a 5xx answer, so a retry with the same key runs afresh', async () => {
    await control(m, 'PUT', '/__harness/faults', { faults: [{ type: 'error', status: 503, times: 1, scope: { route: 'POST /api/wallet/create' } }] })
    const count = await walletCount(m, m.keys.acme)
    const first = await postJson(m, '/api/wallet/create', m.keys.acme, WALLET, { 'x-idempotency-key': 'after-503' })
    expect(first.status).toBe(503)
    const retry = await postJson(m, '/api/wallet/create', m.keys.acme, WALLET, { 'x-idempotency-key': 'after-503' })
    expect(retry.status).toBe(201)
    expect(retry.headers.get('idempotent-replayed')).toBeNull()
    expect(await walletCount(m, m.keys.acme)).toBe(count + 1)
  })

  it('forgets a key after 24 hours (6.1)', async () => {
    const first = await postJson(m, '/api/wallet/create', m.keys.acme, WALLET, { 'x-idempotency-key': 'ttl-1' })
    clock.advance(24 * 3600 * 1000 - 1)
    expect((await postJson(m, '/api/wallet/create', m.keys.acme, WALLET, { 'x-idempotency-key': 'ttl-1' })).headers.get('idempotent-replayed')).toBe('true')
    clock.advance(1)
    const later = await postJson(m, '/api/wallet/create', m.keys.acme, WALLET, { 'x-idempotency-key': 'ttl-1' })
    expect(later.status).toBe(201)
    expect(later.headers.get('idempotent-replayed')).toBeNull()
    expect((await jsonOf(later)).data.id).not.toBe((await jsonOf(first)).data.id)
  })

  it('refuses an idempotency key that is empty, too long or not printable ASCII on field X-Idempotency-Key', async () => {
    for (const bad of ['x'.repeat(256), 'with space', 'tab\there']) {
      const res = await postJson(m, '/api/wallet/create', m.keys.globex, WALLET, { 'x-idempotency-key': bad })
      const e = await expectErrorEnvelope(res, 400, 'validation_error')
      expect(e.error.details.map((d) => d.field)).toEqual(['X-Idempotency-Key'])
    }
    expect((await postJson(m, '/api/wallet/create', m.keys.globex, WALLET, { 'x-idempotency-key': 'x'.repeat(255) })).status).toBe(201)
  })

  it('accepts a POST without a key and marks it idempotency: missing in the record (6.2)', async () => {
    const res = await fetch(`${m.url}/api/wallet/create`, { method: 'POST', headers: headersFor(m.keys.globex, { 'content-type': 'application/json', 'x-request-id': 'no-idem-key' }), body: JSON.stringify(WALLET) })
    expect(res.status).toBe(201)
    const entry = (await readRecord(m)).find((e) => e.requestId === 'no-idem-key')
    expect(entry).toMatchObject({ method: 'POST', status: 201, idempotency: 'missing', idempotencyKey: null, tenant: m.keys.globex.tenantId })
    const keyed = (await readRecord(m)).filter((e) => e.method === 'POST' && e.route === '/api/wallet/create' && e.idempotencyKey !== null)
    expect(keyed.length).toBeGreaterThan(0)
    for (const e of keyed) expect(e.idempotency).not.toBe('missing')
  })
})
