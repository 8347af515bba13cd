// Acceptance for the event stream (issue 4) with an independent, spec-following client: the
// `eventsource` package (WHATWG EventSource) with a fetch that adds the tenant headers. It is cut by
// seeded drop faults, reconnects with Last-Event-ID on its own, and must end with every published
// event, for both event-log backends; then 10,000 events with 100 forced drops and duplicates on
// resume, checked against the record (contract 4.4, 4.6, 7.2, 7.3).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { control, QUIET, readRecord, startMock, type TestMock } from './helper.ts'
import { openEventSource, openRaw } from './helpers/sse.ts'
import { natsSkipReason, startNatsServer, type NatsServer } from './helpers/nats.ts'
import type { FaultSpec } from '../src/domain/fault-plan.ts'

const natsSkip = natsSkipReason()
let nats: NatsServer | undefined
beforeAll(async () => { if (natsSkip === undefined) nats = await startNatsServer() })
afterAll(async () => { await nats?.stop() })

const SUBJECTS = ['wallet.created', 'token.transfer.confirmed', 'ledger.entry.created'] as const

/** Drops at seeded points: inside frames (after id:, before the blank line) and between frames. */
const DROPS: FaultSpec[] = [
  { id: 'cut-after-id', type: 'sse-drop', eventProbability: 0.08, where: 'after-id', times: 4 },
  { id: 'cut-before-blank', type: 'sse-drop', eventProbability: 0.08, where: 'before-blank', after: 4, times: 4 },
  { id: 'cut-between', type: 'sse-drop', eventProbability: 0.08, where: 'between-frames', after: 8, times: 4 }
]

const yieldToIo = () => new Promise((resolve) => setImmediate(resolve))

for (const backend of ['memory', 'nats'] as const) {
  describe.skipIf(backend === 'nats' && natsSkip !== undefined)(`a spec-following EventSource client on the ${backend} backend`, () => {
    let m: TestMock
    beforeAll(async () => {
      // A seed of its own per backend: seeded tenant ids, hence NATS stream names, differ between files.
      m = await startMock({ ...QUIET, seed: backend === 'memory' ? 101 : 202, events: { backend: backend === 'memory' ? 'memory' : nats!.url, retryMs: 5, heartbeatMs: 60_000 } })
    })
    afterAll(async () => { await m.close() })

    it('is cut by drop faults, resumes with Last-Event-ID, and ends with every published event exactly once and in order', async () => {
      const r = await control(m, 'PUT', '/__harness/faults', { seed: 5, faults: DROPS })
      expect(r.status).toBe(200)
      const c = await openEventSource(`${m.url}/api/events/stream`, m.keys.acme, SUBJECTS)
      await c.waitFor(() => c.opens.length === 1, 5000, 'the first open')
      const published: string[] = []
      const total = 400
      for (let i = 0; i < total; i++) {
        const e = await m.app.mock.events.publish(m.keys.acme.tenantId, SUBJECTS[i % SUBJECTS.length]!, { i })
        published.push(String(e.seq))
        // Bursts: some events go out live, others wait in the log and are replayed after a cut.
        if (i % 25 === 24) await yieldToIo()
      }
      await c.waitFor(() => c.received.length >= total, 20_000, `${total} events`)
      c.close()
      // Exactly once and in order: no dedupe on the client side.
      expect(c.received.map((e) => e.id)).toEqual(published)
      expect(c.received.every((e, i) => JSON.parse(e.data).data.i === i && e.type === SUBJECTS[i % SUBJECTS.length])).toBe(true)
      const rec = await readRecord(m)
      const drops = rec.filter((e) => e.type === 'drop')
      expect(drops.map((d) => d.where).sort()).toEqual([...Array(4).fill('after-id'), ...Array(4).fill('before-blank'), ...Array(4).fill('between-frames')])
      expect(c.opens).toHaveLength(13)
      // Each reconnection asked for the last event the client had in full.
      const resumes = rec.filter((e) => e.type === 'resume')
      expect(resumes.map((e) => e.via)).toEqual(Array(12).fill('header'))
      expect(resumes.map((e) => e.lastEventId)).toEqual(drops.map((d) => d.lastId))
      expect(c.sentLastEventIds.slice(1)).toEqual(drops.map((d) => String(d.lastId)))
    })
  })
}

describe.skipIf(natsSkip !== undefined)('two mock instances on one JetStream (contract 4.1)', () => {
  it('serve the same ids live and the same replay, whichever instance published', async () => {
    const config = { ...QUIET, seed: 404, events: { backend: nats!.url, heartbeatMs: 60_000 } }
    const a = await startMock(config)
    const b = await startMock(config)
    try {
      expect(a.keys.acme.tenantId).toBe(b.keys.acme.tenantId)
      const liveOnB = await openRaw(`${b.url}/api/events/stream`, { 'x-api-key': b.keys.acme.key, 'x-tenant-id': b.keys.acme.tenantId })
      await liveOnB.waitFor((x) => x.text().startsWith('retry:'))
      const published: number[] = []
      for (const [m, type] of [[a, 'wallet.created'], [b, 'wallet.updated'], [a, 'ledger.entry.created']] as const) {
        const r = await control(m, 'POST', '/__harness/events', { tenant: 'acme', type, data: { via: m.url } })
        expect(r.status).toBe(201)
        published.push(r.body.data.seq)
      }
      expect(published).toEqual([1, 2, 3])
      await liveOnB.waitFor((x) => x.events().length === 3, 5000, 'three live events on B')
      const replays = await Promise.all([a, b].map(async (m) => {
        const s = await openRaw(`${m.url}/api/events/stream`, { 'x-api-key': m.keys.acme.key, 'x-tenant-id': m.keys.acme.tenantId, 'last-event-id': '1' })
        await s.waitFor((x) => x.events().length === 2, 5000, 'replay of 2 and 3')
        s.close()
        return s.events()
      }))
      expect(replays[0]).toEqual(replays[1])
      expect(replays[0]!.map((e) => e.id)).toEqual(['2', '3'])
      expect(liveOnB.events().slice(1)).toEqual(replays[0])
      liveOnB.close()
    } finally {
      await a.close()
      await b.close()
    }
  })
})

describe('10,000 events with 100 forced drops and duplicates on resume (memory backend)', () => {
  let m: TestMock
  beforeAll(async () => {
    m = await startMock({ ...QUIET, seed: 303, events: { capacity: 20_000, retryMs: 0, heartbeatMs: 60_000 } })
  })
  afterAll(async () => { await m.close() })

  it('leaves a consumer that dedupes by id with exactly the published set, and the record shows each drop and each resume id', async () => {
    // Connections 1-34 may be cut after id:, 35-67 before the blank line, 68-100 between frames;
    // each at a seeded event (p = 0.03 per event). Every resume re-sends the 3 events before its id.
    const faults: FaultSpec[] = [
      { id: 'after-id', type: 'sse-drop', eventProbability: 0.03, where: 'after-id', times: 34 },
      { id: 'before-blank', type: 'sse-drop', eventProbability: 0.03, where: 'before-blank', after: 34, times: 33 },
      { id: 'between', type: 'sse-drop', eventProbability: 0.03, where: 'between-frames', after: 67, times: 33 },
      { id: 'dup', type: 'sse-duplicate', count: 3 }
    ]
    expect((await control(m, 'PUT', '/__harness/faults', { seed: 42, faults })).status).toBe(200)
    const tenantId = m.keys.acme.tenantId
    const total = 10_000
    // The first 1,000 are in the log before the client connects (its first stretch is all replay);
    // the rest come in bursts of 50, each once the client has caught up, so a burst goes out to a live
    // stream, and after a cut inside one the rest of it is replayed.
    const before = 1000
    for (let i = 0; i < before; i++) await m.app.mock.events.publish(tenantId, 'ledger.entry.created', { i })
    const c = await openEventSource(`${m.url}/api/events/stream?last_event_id=0`, m.keys.acme, ['ledger.entry.created'])
    const seen = new Set<string>()
    const processed: number[] = []
    let duplicates = 0
    let next = 0
    /** The consumer: processes each id once. */
    const consume = () => {
      for (; next < c.received.length; next++) {
        const e = c.received[next]!
        if (seen.has(e.id)) { duplicates++; continue }
        seen.add(e.id)
        processed.push(Number(e.id))
      }
      return processed.length
    }
    for (let i = before; i < total; i++) {
      if (i % 50 === 0) await c.waitFor(() => consume() >= i, 10_000, `the client to catch up with ${i}`)
      await m.app.mock.events.publish(tenantId, 'ledger.entry.created', { i })
    }
    await c.waitFor(() => consume() >= total, 10_000, `${total} distinct events`)
    c.close()
    expect(processed).toEqual(Array.from({ length: total }, (_, i) => i + 1))
    expect(duplicates).toBeGreaterThan(0)
    expect(c.received.some((e) => e.type === 'stream.gap')).toBe(false)

    const rec = await readRecord(m)
    const drops = rec.filter((e) => e.type === 'drop')
    expect(drops).toHaveLength(100)
    expect(drops.every((d) => d.reason === 'fault')).toBe(true)
    expect(drops.filter((d) => d.where === 'after-id')).toHaveLength(34)
    expect(drops.filter((d) => d.where === 'before-blank')).toHaveLength(33)
    expect(drops.filter((d) => d.where === 'between-frames')).toHaveLength(33)
    expect(drops.some((d) => d.live === false)).toBe(true) // during replay
    expect(drops.some((d) => d.live === true)).toBe(true)
    // Resumes: the first by query, then one per drop, each from the last event the client had in full.
    const resumes = rec.filter((e) => e.type === 'resume')
    expect(resumes[0]).toMatchObject({ via: 'query', lastEventId: 0 })
    expect(resumes.slice(1).map((e) => e.lastEventId)).toEqual(drops.map((d) => d.lastId))
    expect(resumes.slice(1).every((e) => e.via === 'header')).toBe(true)
    // Every frame sent in full is in the record, and is what the client got: the duplicates it skipped
    // included. (A frame cut in the middle is not a frame sent: the drop entry names it as atId.)
    const frames = rec.filter((e) => e.type === 'frame')
    expect(frames).toHaveLength(c.received.length)
    expect(frames.length - total).toBe(duplicates)
    expect(frames.filter((e) => e.duplicate === true).length).toBeGreaterThan(200)
    expect(rec.filter((e) => e.type === 'fault' && e.fault === 'sse-duplicate')).toHaveLength(100)
  }, 30_000)
})
