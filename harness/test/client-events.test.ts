// The reference client's event consumer against the real mock's SSE stream over real sockets
// (contract 4, 7.2 SSE faults): each event id handled once and in order across drops, cut frames,
// duplicates, stalls and gaps; refusals waited out; fatal errors surfaced.
//
// The seeded fault-plan run covers 10 plans by default; TENZRO_LONG=1 runs all 100.
import { afterEach, describe, expect, it } from 'vitest'
import { createTenzroClient, type ConsumeResult, type StreamGap, type TenzroEvent } from '../src/client/index.ts'
import { fakeKey } from '../../mock-server/test/helper.ts'
import type { FaultSpec } from '../../mock-server/src/domain/fault-plan.ts'
import { control, createTenant, fakeTime, publish, readRecord, recordMark, rejection, seeded, setFaults, startClientMock, waitUntil, type RecordEntry, type TestMock } from './helpers/mock.ts'

let mock: TestMock | undefined
afterEach(async () => {
  await mock?.close()
  mock = undefined
})

interface Consumer {
  events: TenzroEvent[]
  gaps: StreamGap[]
  done: Promise<ConsumeResult>
  stop (): Promise<ConsumeResult>
}

function consume (m: TestMock, k: { key: string, tenantId: string }, opts: { lastEventId?: string, heartbeatTimeoutMs?: number, handler?: (e: TenzroEvent) => unknown, now?: () => number, sleep?: (ms: number) => Promise<void>, subjects?: string[] } = {}): Consumer {
  const client = createTenzroClient({ baseUrl: m.url, apiKey: k.key, tenantId: k.tenantId, random: seeded(2), ...(opts.now === undefined ? {} : { now: opts.now }), ...(opts.sleep === undefined ? {} : { sleep: opts.sleep }) })
  const events: TenzroEvent[] = []
  const gaps: StreamGap[] = []
  const ac = new AbortController()
  const done = client.events.consume({
    lastEventId: opts.lastEventId,
    subjects: opts.subjects,
    heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? 300,
    signal: ac.signal,
    handler: async (e) => { events.push(e); await opts.handler?.(e) },
    onGap: (g) => { gaps.push(g) }
  })
  return { events, gaps, done, stop: async () => { ac.abort(); return await done } }
}

const ids = (c: Consumer) => c.events.map((e) => e.seq)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

async function publishMany (m: TestMock, tenant: string, n: number, pauseEvery = 0, pauseMs = 0): Promise<number> {
  let last = 0
  for (let i = 0; i < n; i++) {
    last = await publish(m, tenant, i % 2 === 0 ? 'wallet.created' : 'ledger.entry.created', { n: i })
    if (pauseEvery > 0 && (i + 1) % pauseEvery === 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
  }
  return last
}

describe('reference client: event stream', () => {
  it('handles every event once and in order, resuming with Last-Event-ID after each drop', async () => {
    mock = await startClientMock()
    const k = mock.keys.acme
    await setFaults(mock, { faults: [{ type: 'sse-drop', afterEvents: 3, scope: { tenant: 'acme' } }] })
    const mark = await recordMark(mock)
    const c = consume(mock, k, { lastEventId: '0' })
    await publishMany(mock, 'acme', 10)
    await waitUntil(() => c.events.length >= 10, 5000, '10 events')
    const r = await c.stop()
    expect(ids(c)).toEqual(range(1, 10))
    expect(r.handled).toBe(10)
    expect(r.lastEventId).toBe('10')
    const rec = await readRecord(mock, mark)
    const resumes = rec.filter((e) => e.type === 'resume' && e.keyId === k.id)
    const drops = rec.filter((e) => e.type === 'drop' && e.keyId === k.id && e.reason === 'fault')
    expect(drops.length).toBeGreaterThanOrEqual(3)
    // Each reconnection resumed from exactly the last event the previous stream delivered, via the header (4.2).
    for (const d of drops) {
      const next = resumes.find((e) => e.seq > d.seq)
      expect(next?.lastEventId).toBe(d.lastId)
      expect(next?.via).toBe('header')
    }
    // The key never travelled in a URL.
    expect(rec.filter((e) => e.type === 'request' && e.keyId === k.id && e.secretInUrl === true)).toEqual([])
  })

  for (const where of ['after-id', 'before-blank'] as const) {
    it(`does not dispatch a frame cut ${where} and resumes from the last complete event`, async () => {
      mock = await startClientMock()
      const k = mock.keys.acme
      await setFaults(mock, { faults: [{ type: 'sse-drop', afterEvents: 2, where, times: 3, scope: { tenant: 'acme' } }] })
      const mark = await recordMark(mock)
      const c = consume(mock, k, { lastEventId: '0' })
      await publishMany(mock, 'acme', 9)
      await waitUntil(() => c.events.length >= 9, 5000, '9 events')
      await c.stop()
      expect(ids(c)).toEqual(range(1, 9))
      const rec = await readRecord(mock, mark)
      const cuts = rec.filter((e) => e.type === 'drop' && e.keyId === k.id && e.where === where)
      expect(cuts).toHaveLength(3)
      for (const d of cuts) {
        // The cut frame's id went out on the wire, but the client resumed from the one before it.
        expect(d.atId).toBe(d.lastId + 1)
        const next = rec.find((e) => e.type === 'resume' && e.keyId === k.id && e.seq > d.seq)
        expect(next?.lastEventId).toBe(d.lastId)
      }
    })
  }

  it('skips the events a resumed stream repeats (at-least-once, 4.6)', async () => {
    mock = await startClientMock()
    const k = mock.keys.acme
    await setFaults(mock, { faults: [{ type: 'sse-drop', afterEvents: 4, scope: { tenant: 'acme' } }, { type: 'sse-duplicate', count: 3, scope: { tenant: 'acme' } }] })
    const c = consume(mock, k, { lastEventId: '0' })
    await publishMany(mock, 'acme', 12)
    await waitUntil(() => c.events.length >= 12, 5000, '12 events')
    const r = await c.stop()
    expect(ids(c)).toEqual(range(1, 12))
    expect(r.duplicates).toBeGreaterThanOrEqual(3)
  })

  it('reconnects when the stream stalls for longer than the heartbeat timeout', async () => {
    mock = await startClientMock()
    const k = mock.keys.acme
    await setFaults(mock, { faults: [{ type: 'sse-stall', afterEvents: 2, times: 1, scope: { tenant: 'acme' } }] })
    const mark = await recordMark(mock)
    const c = consume(mock, k, { lastEventId: '0', heartbeatTimeoutMs: 250 })
    await publishMany(mock, 'acme', 6)
    await waitUntil(() => c.events.length >= 6, 5000, '6 events')
    const r = await c.stop()
    expect(ids(c)).toEqual(range(1, 6))
    expect(r.stalls).toBe(1)
    const rec = await readRecord(mock, mark)
    const stall = rec.find((e) => e.type === 'fault' && e.fault === 'sse-stall')!
    const resume = rec.find((e) => e.type === 'resume' && e.seq > stall.seq)!
    expect(resume.lastEventId).toBe(2)
    expect(resume.ts - stall.ts).toBeGreaterThanOrEqual(240)
  })

  it('calls onGap for a lost range and then handles the events after it', async () => {
    mock = await startClientMock({ events: { capacity: 10 } })
    const k = mock.keys.acme
    await publishMany(mock, 'acme', 25)
    const c = consume(mock, k, { lastEventId: '2' })
    await waitUntil(() => c.events.length >= 10, 5000, '10 retained events')
    const r = await c.stop()
    expect(c.gaps).toEqual([{ from: 3, to: 15 }])
    expect(ids(c)).toEqual(range(16, 25))
    expect(r.gaps).toBe(1)
  })

  it('resumes after a gap from its end, not from before it, so the gap is not reported twice', async () => {
    mock = await startClientMock({ events: { capacity: 10 } })
    const k = mock.keys.acme
    await setFaults(mock, { faults: [{ type: 'sse-drop', afterEvents: 0, times: 1, scope: { tenant: 'acme' } }] })
    await publishMany(mock, 'acme', 25)
    const mark = await recordMark(mock)
    const c = consume(mock, k, { lastEventId: '2' })
    await waitUntil(() => c.events.length >= 10, 5000, '10 retained events')
    await c.stop()
    expect(c.gaps).toEqual([{ from: 3, to: 15 }])
    expect(ids(c)).toEqual(range(16, 25))
    const resumes = (await readRecord(mock, mark)).filter((e) => e.type === 'resume')
    expect(resumes.map((e) => e.lastEventId)).toEqual([2, 15])
  })

  it('awaits a slow handler before reading on, without taking the pause for a stall', async () => {
    mock = await startClientMock()
    const k = mock.keys.acme
    let running = 0
    let maxRunning = 0
    const c = consume(mock, k, {
      lastEventId: '0',
      heartbeatTimeoutMs: 300,
      handler: async (e) => {
        running++
        maxRunning = Math.max(maxRunning, running)
        // The first two take longer than the heartbeat timeout: the unread bytes are backpressure, not a stall.
        await new Promise((resolve) => setTimeout(resolve, e.seq <= 2 ? 450 : 20))
        running--
      }
    })
    await publishMany(mock, 'acme', 6)
    await waitUntil(() => c.events.length >= 6 && running === 0, 5000, '6 events')
    const r = await c.stop()
    expect(ids(c)).toEqual(range(1, 6))
    expect(maxRunning).toBe(1)
    expect(r.stalls).toBe(0)
    expect(r.connections).toBe(1)
  })

  it('waits Retry-After before reconnecting after a 503 or 429 refusal', async () => {
    const clock = fakeTime()
    mock = await startClientMock({}, { now: clock.now })
    const k = mock.keys.acme
    await setFaults(mock, { faults: [{ type: 'sse-reject', status: 503, retryAfterS: 2, times: 1, scope: { tenant: 'acme' } }, { type: 'sse-reject', status: 429, retryAfterS: 3, after: 1, times: 1, scope: { tenant: 'acme' } }] })
    const mark = await recordMark(mock)
    const c = consume(mock, k, { lastEventId: '0', now: clock.now, sleep: clock.sleep })
    await publishMany(mock, 'acme', 3)
    await waitUntil(() => c.events.length >= 3, 5000, '3 events')
    await c.stop()
    expect(ids(c)).toEqual(range(1, 3))
    const streams = (await readRecord(mock, mark)).filter((e) => e.type === 'request' && e.keyId === k.id && e.route === '/api/events/stream')
    expect(streams.map((e) => e.status).slice(0, 2)).toEqual([503, 429])
    // Fake clock shared with the mock: ts is the arrival time on the client's clock.
    expect(streams[1]!.ts - streams[0]!.ts).toBeGreaterThanOrEqual(2000)
    expect(streams[2]!.ts - streams[1]!.ts).toBeGreaterThanOrEqual(3000)
  })

  it('stops with a clear error on 401 and 403 instead of reconnecting', async () => {
    mock = await startClientMock()
    const mark = await recordMark(mock)
    const bad = await rejection(consume(mock, { key: fakeKey('acme'), tenantId: 'acme' }).done)
    expect([bad.name, bad.status, bad.code]).toEqual(['TenzroApiError', 401, 'invalid_api_key'])
    expect(bad.message).toMatch(/GET \/api\/events\/stream failed with 401 invalid_api_key/)
    const wrongTenant = await rejection(consume(mock, { key: mock.keys.acme.key, tenantId: 'globex' }).done)
    expect([wrongTenant.status, wrongTenant.code]).toEqual([403, 'tenant_mismatch'])
    const tries = (await readRecord(mock, mark)).filter((e: RecordEntry) => e.type === 'request' && e.route === '/api/events/stream')
    expect(tries).toHaveLength(2)
  })

  it('stops with revoked_api_key when its key is revoked while streaming', async () => {
    mock = await startClientMock()
    const k = mock.keys.acme
    const c = consume(mock, k, { lastEventId: '0' })
    await publishMany(mock, 'acme', 2)
    await waitUntil(() => c.events.length >= 2, 5000, '2 events')
    await control(mock, 'DELETE', `/__harness/keys/${k.id}`)
    const err = await rejection(c.done)
    expect([err.status, err.code]).toEqual([401, 'revoked_api_key'])
    expect(ids(c)).toEqual([1, 2])
  })

  it('passes the subject filter and sees only matching events', async () => {
    mock = await startClientMock()
    const k = mock.keys.acme
    const c = consume(mock, k, { lastEventId: '0', subjects: ['wallet.*'] })
    await publishMany(mock, 'acme', 6)
    await waitUntil(() => c.events.length >= 3, 5000, '3 wallet events')
    await c.stop()
    expect(c.events.map((e) => [e.seq, e.subject])).toEqual([[1, 'wallet.created'], [3, 'wallet.created'], [5, 'wallet.created']])
    expect(c.events[0]!.eventId).toBe('evt_1')
    expect(c.events[0]!.data).toEqual({ n: 0 })
  })
})

/** A seeded plan of SSE faults (7.2) for one tenant: drops (sometimes mid-frame), duplicates, stalls and faster retries. */
function faultPlan (seed: number, tenant: string): { seed: number, faults: FaultSpec[] } {
  const r = seeded(seed * 7919 + 1)
  const scope = { tenant }
  const wheres = ['between-frames', 'after-id', 'before-blank'] as const
  const faults: FaultSpec[] = [
    { type: 'sse-drop', scope, probability: 0.5 + 0.5 * r(), eventProbability: 0.05 + 0.2 * r(), where: wheres[Math.floor(r() * 3)]! }
  ]
  if (r() < 0.7) faults.push({ type: 'sse-duplicate', scope, count: 1 + Math.floor(r() * 5), probability: 0.5 + 0.5 * r() })
  if (r() < 0.5) faults.push({ type: 'sse-stall', scope, afterEvents: 1 + Math.floor(r() * 10), probability: 0.5, times: 1 + Math.floor(r() * 2) })
  if (r() < 0.3) faults.push({ type: 'sse-retry', scope, retryMs: Math.floor(r() * 30) })
  return { seed, faults }
}

const PLANS = process.env.TENZRO_LONG === '1' ? 100 : 10
const EVENTS_PER_PLAN = 40

describe(`reference client: ${PLANS} seeded fault plans (TENZRO_LONG=1 runs 100)`, () => {
  it('handles every event exactly once and in order, and hands every lost range to onGap', async () => {
    mock = await startClientMock({ events: { capacity: 10, heartbeatMs: 50, retryMs: 5 } })
    const summary = { drops: 0, duplicates: 0, stalls: 0, gaps: 0 }
    for (let seed = 1; seed <= PLANS; seed++) {
      const t = await createTenant(mock)
      const plan = faultPlan(seed, t.slug)
      await setFaults(mock, plan)
      const c = consume(mock, { key: t.key, tenantId: t.tenantId }, { lastEventId: '0', heartbeatTimeoutMs: 200 })
      await publishMany(mock, t.slug, EVENTS_PER_PLAN, 4, 4)
      const covered = () => {
        let n = c.events.length
        for (const g of c.gaps) n += g.to - g.from + 1
        return n
      }
      await waitUntil(() => covered() >= EVENTS_PER_PLAN, 15_000, `plan ${seed}: all ${EVENTS_PER_PLAN} events handled or reported lost (${JSON.stringify(plan)})`)
      const r = await c.stop()
      const got = ids(c)
      const lost = c.gaps.flatMap((g) => range(g.from, g.to))
      const why = `plan ${seed} ${JSON.stringify(plan)}: handled ${JSON.stringify(got)} gaps ${JSON.stringify(c.gaps)}`
      // In order, once each: strictly increasing.
      for (let i = 1; i < got.length; i++) expect(got[i]!, why).toBeGreaterThan(got[i - 1]!)
      // Every event is either handled or inside a range given to onGap, never both.
      expect([...got, ...lost].sort((a, b) => a - b), why).toEqual(range(1, EVENTS_PER_PLAN))
      summary.duplicates += r.duplicates
      summary.stalls += r.stalls
      summary.gaps += r.gaps
      summary.drops += r.reconnects
    }
    // The plans did exercise what they are about.
    expect(summary.drops).toBeGreaterThan(PLANS)
    expect(summary.duplicates).toBeGreaterThan(0)
    expect(summary.stalls).toBeGreaterThan(0)
    if (PLANS >= 10) expect(summary.gaps).toBeGreaterThan(0)
  }, PLANS * 3000)
})
