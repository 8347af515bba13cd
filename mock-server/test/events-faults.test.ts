// The SSE faults of contract 7.2, each observed from the client side of a real socket: drops (after N
// events, after T ms, at random, between frames and inside a frame), duplicates on resume, stalls,
// 429/503 on reconnect and a changed retry:, and the record entries each leaves (7.3).
import { afterEach, describe, expect, it } from 'vitest'
import { control, expectErrorEnvelope, headersFor, QUIET, readRecord, startMock, type TestMock } from './helper.ts'
import { openEventSource, openRaw, type RawStream } from './helpers/sse.ts'
import type { MockConfigInput } from '../src/config.ts'
import type { FaultSpec } from '../src/domain/fault-plan.ts'

const mocks: TestMock[] = []
const cleanups: Array<() => void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) c()
  for (const m of mocks.splice(0)) await m.close()
})

async function mock (faults: FaultSpec[], events: MockConfigInput['events'] = {}, seed = 7) {
  const m = await startMock({ ...QUIET, events: { heartbeatMs: 60_000, ...events } })
  mocks.push(m)
  const r = await control(m, 'PUT', '/__harness/faults', { seed, faults })
  expect(r.status, JSON.stringify(r.body)).toBe(200)
  return m
}

async function open (m: TestMock, query = '', headers: Record<string, string> = {}): Promise<RawStream> {
  const s = await openRaw(`${m.url}/api/events/stream${query}`, headersFor(m.keys.acme, headers))
  cleanups.push(() => s.close())
  return s
}

async function publishMany (m: TestMock, n: number, type = 'wallet.created') {
  const tenantId = m.keys.acme.tenantId
  for (let i = 0; i < n; i++) await m.app.mock.events.publish(tenantId, type, { i })
}

const ids = (s: RawStream) => s.events().map((b) => Number(b.id))
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('sse-drop (contract 7.2)', () => {
  it('cuts the connection after N events, between frames', async () => {
    const m = await mock([{ type: 'sse-drop', afterEvents: 3 }])
    await publishMany(m, 10)
    const s = await open(m, '?last_event_id=0')
    expect(await s.ended).toBe('aborted')
    expect(ids(s)).toEqual([1, 2, 3])
    expect(s.text().endsWith('\n\n')).toBe(true)
    const drop = (await readRecord(m)).find((e) => e.type === 'drop')
    expect(drop).toMatchObject({ reason: 'fault', where: 'between-frames', atId: 4, lastId: 3, sent: 3, tenant: m.keys.acme.tenantId, keyId: m.keys.acme.id })
    expect(drop!.streamId).toMatch(/^str_/)
    expect(drop!.requestId).toBe(s.headers['x-request-id'])
  })

  it('cuts inside a frame after the id and event lines, before data:', async () => {
    const m = await mock([{ type: 'sse-drop', afterEvents: 2, where: 'after-id' }])
    await publishMany(m, 5)
    const s = await open(m, '?last_event_id=0')
    expect(await s.ended).toBe('aborted')
    expect(ids(s)).toEqual([1, 2])
    expect(s.text().endsWith('\n\nid: 3\nevent: wallet.created\n')).toBe(true)
  })

  it('cuts inside a frame after data:, before the blank line that would dispatch it', async () => {
    const m = await mock([{ type: 'sse-drop', afterEvents: 2, where: 'before-blank' }])
    await publishMany(m, 5)
    const s = await open(m, '?last_event_id=0')
    expect(await s.ended).toBe('aborted')
    expect(ids(s)).toEqual([1, 2])
    expect(s.text()).toMatch(/\n\nid: 3\nevent: wallet.created\ndata: \{[^\n]*\}\n$/)
  })

  it('cuts the connection T ms after it opened', async () => {
    const m = await mock([{ type: 'sse-drop', afterMs: 150 }])
    const t0 = performance.now()
    const s = await open(m)
    expect(await s.ended).toBe('aborted')
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140)
    expect((await readRecord(m)).find((e) => e.type === 'drop')).toMatchObject({ reason: 'fault', atId: null })
  })

  it('cuts at random with probability p per event, at the same events for the same seed', async () => {
    const run = async (seed: number) => {
      const m = await mock([{ type: 'sse-drop', eventProbability: 0.2 }], {}, seed)
      await publishMany(m, 200)
      const cuts: number[] = []
      let last = 0
      for (let i = 0; i < 6; i++) {
        const s = await open(m, '', { 'last-event-id': String(last) })
        await s.ended
        const got = ids(s)
        if (got.length > 0) last = got.at(-1)!
        cuts.push(last)
      }
      return cuts
    }
    const a = await run(11)
    expect(new Set(a).size).toBeGreaterThan(3)
    expect(await run(11)).toEqual(a)
    expect(await run(12)).not.toEqual(a)
  })

  it('applies only within its scope: another key\'s stream is not cut', async () => {
    const m = await startMock({ ...QUIET, events: { heartbeatMs: 60_000 } })
    mocks.push(m)
    await control(m, 'PUT', '/__harness/faults', { faults: [{ type: 'sse-drop', afterEvents: 0, scope: { key: m.keys.acme.id } }] })
    const cut = await open(m)
    const fine = await openRaw(`${m.url}/api/events/stream`, headersFor(m.keys.globex))
    cleanups.push(() => fine.close())
    await m.app.mock.events.publish(m.keys.acme.tenantId, 'wallet.created', {})
    await m.app.mock.events.publish(m.keys.globex.tenantId, 'wallet.created', {})
    expect(await cut.ended).toBe('aborted')
    await fine.waitFor((x) => x.events().length === 1)
  })
})

describe('sse-duplicate (contract 4.6, 7.2)', () => {
  it('re-sends the last k events before the requested id on resume, and marks them in the record', async () => {
    const m = await mock([{ type: 'sse-duplicate', count: 3 }])
    await publishMany(m, 12)
    const s = await open(m, '', { 'last-event-id': '10' })
    await s.waitFor((x) => x.events().length === 5)
    expect(ids(s)).toEqual([8, 9, 10, 11, 12])
    const rec = await readRecord(m)
    expect(rec.find((e) => e.type === 'fault')).toMatchObject({ fault: 'sse-duplicate', count: 3, from: 8, to: 10 })
    expect(rec.filter((e) => e.type === 'frame').map((e) => [e.id, e.duplicate])).toEqual([[8, true], [9, true], [10, true], [11, false], [12, false]])
  })

  it('does not duplicate on a first connection, nor across the edge of the retained window', async () => {
    const m = await mock([{ type: 'sse-duplicate', count: 5 }], { capacity: 10 })
    await publishMany(m, 20)
    const fresh = await open(m)
    await publishMany(m, 1)
    await fresh.waitFor((x) => x.events().length === 1)
    expect(ids(fresh)).toEqual([21])
    const edge = await open(m, '', { 'last-event-id': '13' })
    await edge.waitFor((x) => x.events().length === 10)
    // The oldest retained is 12: two duplicates (12, 13), not five, and no false gap.
    expect(ids(edge)).toEqual(range(12, 21))
    expect(edge.events().some((b) => b.event === 'stream.gap')).toBe(false)
  })
})

describe('sse-stall (contract 7.2)', () => {
  it('stops events and heartbeats for durationMs with the connection open, then carries on where it stopped', async () => {
    const m = await mock([{ type: 'sse-stall', afterEvents: 2, durationMs: 1000 }], { heartbeatMs: 30 })
    const s = await open(m)
    await s.waitFor((x) => x.text().includes(': heartbeat'), 2000, 'a heartbeat before the stall')
    await publishMany(m, 5)
    await s.waitFor((x) => x.events().length === 2)
    const textAtStall = s.text().length
    await sleep(300)
    // Nothing at all while stalled: no event, no heartbeat (ten heartbeat intervals have passed).
    expect(s.text().length).toBe(textAtStall)
    await s.waitFor((x) => x.events().length === 5, 3000, 'events after the stall')
    expect(ids(s)).toEqual([1, 2, 3, 4, 5])
    await s.waitFor((x) => x.text().slice(textAtStall).includes(': heartbeat'), 2000, 'heartbeats again')
    const faults = (await readRecord(m)).filter((e) => e.type === 'fault')
    expect(faults.map((e) => [e.fault, e.phase, e.afterEvents])).toEqual([['sse-stall', 'start', 2], ['sse-stall', 'end', 2]])
    expect(faults[1]!.ts - faults[0]!.ts).toBeGreaterThanOrEqual(990)
  })

  it('stalls for good without a duration, from the first byte after retry:', async () => {
    const m = await mock([{ type: 'sse-stall' }], { heartbeatMs: 20 })
    const s = await open(m)
    await publishMany(m, 3)
    await sleep(200)
    expect(s.text()).toBe('retry: 1000\n\n')
    s.close()
    expect(await s.ended).toBe('aborted')
  })
})

describe('sse-reject and sse-retry, seen by a spec-following client (contract 7.2)', () => {
  for (const status of [429, 503] as const) {
    it(`answers reconnect attempts with ${status}, Retry-After and the error envelope`, async () => {
      // The first connection goes through; the next ones are refused.
      const m = await mock([{ type: 'sse-reject', status, retryAfterS: 7, after: 1 }, { type: 'sse-drop', afterEvents: 1 }], { retryMs: 20 })
      await publishMany(m, 3)
      const c = await openEventSource(`${m.url}/api/events/stream?last_event_id=0`, m.keys.acme, ['wallet.created'])
      cleanups.push(() => c.close())
      await c.waitFor(() => c.errors.some((e) => e.code === status), 5000, `an error with code ${status}`)
      expect(c.received.map((e) => e.id)).toEqual(['1'])
      // Failed, not reconnecting (WHATWG: a non-200 answer fails the connection).
      expect(c.es.readyState).toBe(2)
      expect(c.sentLastEventIds).toEqual([null, '1'])
      const res = await fetch(m.url + '/api/events/stream', { headers: headersFor(m.keys.acme, { 'last-event-id': '1' }) })
      const body = await expectErrorEnvelope(res, status, status === 429 ? 'rate_limited' : 'service_unavailable')
      expect(res.headers.get('retry-after')).toBe('7')
      expect(body.error.details).toEqual([{ field: 'retryAfter', message: '7' }])
      const rejects = (await readRecord(m)).filter((e) => e.type === 'fault' && e.fault === 'sse-reject')
      expect(rejects.map((e) => [e.status, e.lastEventId])).toEqual([[status, 1], [status, 1]])
    })
  }

  it('changes the retry: value, and the client waits that long before reconnecting', async () => {
    const m = await mock([{ type: 'sse-retry', retryMs: 600 }, { type: 'sse-drop', afterEvents: 1, times: 1 }], { retryMs: 10 })
    await publishMany(m, 3)
    const c = await openEventSource(`${m.url}/api/events/stream?last_event_id=0`, m.keys.acme, ['wallet.created'])
    cleanups.push(() => c.close())
    await c.waitFor(() => c.received.length === 3, 5000, 'all three events')
    expect(c.received.map((e) => e.id)).toEqual(['1', '2', '3'])
    expect(c.opens).toHaveLength(2)
    const waited = c.opens[1]! - c.errors[0]!.at
    expect(waited).toBeGreaterThanOrEqual(550)
    const raw = await open(m)
    await raw.waitFor((x) => x.text().length > 0)
    expect(raw.text()).toBe('retry: 600\n\n')
    expect((await readRecord(m)).filter((e) => e.type === 'fault' && e.fault === 'sse-retry').map((e) => e.retryMs)).toEqual([600, 600, 600])
  })
})
