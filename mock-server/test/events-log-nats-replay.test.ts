// Replay on JetStream decodes each event once per instance: every subscription that replays it is
// handed the same StoredEvent, so sse/frames.ts serialises one frame for all of them (as the memory log
// and live streams do). Real nats-server -js; two logs stand for two mock instances.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNatsEventLog, type EventLog, type EventSink, type StoredEvent } from '../src/domain/event-log/index.ts'
import { frameOf } from '../src/sse/frames.ts'
import { natsSkipReason, startNatsServer, type NatsServer } from './helpers/nats.ts'

function collector () {
  const events: StoredEvent[] = []
  const gaps: Array<[number, number]> = []
  const waiters = new Set<() => void>()
  const sink: EventSink & { events: StoredEvent[], gaps: Array<[number, number]>, waitFor: (n: number) => Promise<void> } = {
    events,
    gaps,
    event (e) { events.push(e); for (const w of [...waiters]) w(); return true },
    gap (from, to) { gaps.push([from, to]) },
    live () {},
    error (err) { throw err },
    waitFor (n) {
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => { waiters.delete(check); reject(new Error(`only ${events.length} of ${n} events arrived`)) }, 10_000)
        const check = () => { if (events.length >= n) { clearTimeout(t); waiters.delete(check); resolve() } }
        waiters.add(check)
        check()
      })
    }
  }
  return sink
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const seqs = (es: StoredEvent[]) => es.map((e) => e.seq)

const skip = natsSkipReason()

describe.skipIf(skip !== undefined)('NATS event log replay (one decoded event per instance)', () => {
  let nats: NatsServer
  let a: EventLog
  let b: EventLog
  let n = 0
  const tenant = () => `44444444-4444-4444-8444-${String(++n).padStart(12, '0')}`

  beforeAll(async () => {
    nats = await startNatsServer()
    a = await createNatsEventLog({ url: nats.url, capacity: 1000 })
    b = await createNatsEventLog({ url: nats.url, capacity: 1000 })
  })
  afterAll(async () => { await a?.close(); await b?.close(); await nats?.stop() })

  it('hands every replaying subscription the same event objects (one frame each), for events older than this instance has seen', async () => {
    const t = tenant()
    for (let i = 0; i < 40; i++) await a.publish(t, 'wallet.created', { i })
    // b has never followed t: the first replay reads JetStream, the rest share what it decoded.
    const sinks = [collector(), collector(), collector()]
    for (const s of sinks) await b.subscribe(t, { after: 0 }, s)
    await Promise.all(sinks.map((s) => s.waitFor(40)))
    for (const s of sinks) expect(seqs(s.events)).toEqual(range(1, 40))
    for (let i = 0; i < 40; i++) {
      expect(sinks[1]!.events[i]).toBe(sinks[0]!.events[i])
      expect(sinks[2]!.events[i]).toBe(sinks[0]!.events[i])
    }
    expect(frameOf(sinks[2]!.events[7]!)).toBe(frameOf(sinks[0]!.events[7]!))
  })

  it('replays from JetStream then from what the tail holds, then goes live, with no gap or repeat while another instance publishes', async () => {
    const t = tenant()
    for (let i = 0; i < 20; i++) await a.publish(t, 'wallet.created', { i })
    const live = collector()
    await b.subscribe(t, { after: undefined }, live)
    const more = (async () => { for (let i = 0; i < 30; i++) await a.publish(t, 'wallet.updated', { i }) })()
    const resumed = collector()
    await b.subscribe(t, { after: 5 }, resumed)
    await more
    await live.waitFor(30)
    await resumed.waitFor(45)
    await a.publish(t, 'wallet.updated', { last: true })
    await resumed.waitFor(46)
    await live.waitFor(31)
    expect(seqs(resumed.events)).toEqual(range(6, 51))
    expect(seqs(live.events)).toEqual(range(21, 51))
    expect(resumed.gaps).toEqual([])
    // The tail's events are the ones live streams were handed.
    expect(resumed.events[resumed.events.length - 1]).toBe(live.events[live.events.length - 1])
  })
})
