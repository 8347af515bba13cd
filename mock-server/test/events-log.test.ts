// The event log behind the SSE stream (contract 4.3, 4.4), both backends held to one contract: the
// bounded memory ring and NATS JetStream on a real nats-server (house style principle 7).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMemoryEventLog, createNatsEventLog, createEventLog, type EventLog, type EventSink, type StoredEvent, type Subscription } from '../src/domain/event-log/index.ts'
import { natsSkipReason, startNatsServer, type NatsServer } from './helpers/nats.ts'
import { DEFAULT_CONFIG } from '../src/config.ts'

const T1 = '11111111-1111-4111-8111-111111111111'
const T2 = '22222222-2222-4222-8222-222222222222'

/** A sink that records what it is handed; `pauseAfter` makes event() return false from that count on. */
function collector (opts: { pauseAfter?: number } = {}) {
  const events: StoredEvent[] = []
  const gaps: Array<[number, number]> = []
  let wentLive = 0
  const waiters: Array<{ n: number, resolve: () => void }> = []
  const sink: EventSink & { events: StoredEvent[], gaps: Array<[number, number]>, liveCount: () => number, waitFor: (n: number) => Promise<void> } = {
    events,
    gaps,
    liveCount: () => wentLive,
    event (e) {
      events.push(e)
      for (const w of [...waiters]) if (events.length >= w.n) { waiters.splice(waiters.indexOf(w), 1); w.resolve() }
      return opts.pauseAfter === undefined || events.length < opts.pauseAfter
    },
    gap (from, to) { gaps.push([from, to]) },
    live () { wentLive++ },
    error (err) { throw err },
    waitFor (n) {
      if (events.length >= n) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`only ${events.length} of ${n} events arrived`)), 10_000)
        waiters.push({ n, resolve: () => { clearTimeout(t); resolve() } })
      })
    }
  }
  return sink
}

const seqs = (es: StoredEvent[]) => es.map((e) => e.seq)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const tick = () => new Promise((resolve) => setImmediate(resolve))

async function publishN (log: EventLog, tenant: string, n: number, subject = 'wallet.created'): Promise<StoredEvent[]> {
  const out: StoredEvent[] = []
  for (let i = 0; i < n; i++) out.push(await log.publish(tenant, subject, { i }))
  return out
}

/** The contract every backend keeps. `make(capacity)` returns a fresh log whose tenants start empty. */
function logContract (name: string, make: (capacity: number) => Promise<EventLog>, skip: boolean) {
  describe.skipIf(skip)(`${name} event log`, () => {
    const open: EventLog[] = []
    const fresh = async (capacity = 1000) => { const l = await make(capacity); open.push(l); return l }
    afterAll(async () => { for (const l of open) await l.close() })

    it('numbers each tenant\'s events 1, 2, 3, ... independently of other tenants', async () => {
      const log = await fresh()
      const a = await publishN(log, T1, 3)
      const b = await publishN(log, T2, 2)
      expect(seqs(a)).toEqual([1, 2, 3])
      expect(seqs(b)).toEqual([1, 2])
      expect(a[0]).toMatchObject({ tenantId: T1, subject: 'wallet.created', data: { i: 0 } })
      expect(await log.window(T1)).toEqual({ firstSeq: 1, lastSeq: 3 })
    })

    it('replays every event after the requested id, then goes live with no gap or repeat while publishing continues', async () => {
      const log = await fresh()
      await publishN(log, T1, 50)
      const sink = collector()
      await log.subscribe(T1, { after: 20 }, sink)
      // Publish while the replay is under way: the switch to live must not lose or repeat any of these.
      const more = publishN(log, T1, 30)
      await more
      await sink.waitFor(60)
      await publishN(log, T1, 5)
      await sink.waitFor(65)
      expect(seqs(sink.events)).toEqual(range(21, 85))
      expect(sink.gaps).toEqual([])
      expect(sink.liveCount()).toBe(1)
    })

    it('serves a stream opened without an id only events published after it opened (4.4)', async () => {
      const log = await fresh()
      await publishN(log, T1, 5)
      const sink = collector()
      await log.subscribe(T1, { after: undefined }, sink)
      await publishN(log, T1, 2)
      await sink.waitFor(2)
      await tick()
      expect(seqs(sink.events)).toEqual([6, 7])
    })

    it('serves an id beyond the newest sequence as live from now', async () => {
      const log = await fresh()
      await publishN(log, T1, 5)
      const sink = collector()
      await log.subscribe(T1, { after: 999 }, sink)
      await publishN(log, T1, 3)
      await sink.waitFor(3)
      expect(seqs(sink.events)).toEqual([6, 7, 8])
      expect(sink.gaps).toEqual([])
    })

    it('reports the lost range as a gap for an id older than the retained window, then replays from the oldest retained', async () => {
      const log = await fresh(10)
      await publishN(log, T1, 25)
      expect(await log.window(T1)).toEqual({ firstSeq: 16, lastSeq: 25 })
      for (const after of [0, 3, 14]) {
        const sink = collector()
        const sub = await log.subscribe(T1, { after }, sink)
        await sink.waitFor(10)
        expect(sink.gaps).toEqual([[after + 1, 15]])
        expect(seqs(sink.events)).toEqual(range(16, 25))
        sub.close()
      }
      // The oldest retained minus one is not a gap.
      const sink = collector()
      await log.subscribe(T1, { after: 15 }, sink)
      await sink.waitFor(10)
      expect(sink.gaps).toEqual([])
    })

    it('hands nothing over while paused and catches up in order on resume', async () => {
      const log = await fresh()
      const sink = collector({ pauseAfter: 3 })
      const sub: Subscription = await log.subscribe(T1, { after: 0 }, sink)
      await publishN(log, T1, 10)
      await sink.waitFor(3)
      await tick(); await tick()
      expect(seqs(sink.events)).toEqual([1, 2, 3])
      expect(sub.cursor).toBe(3)
      await publishN(log, T1, 5)
      const more = collector()
      sink.event = more.event.bind(more) as EventSink['event']
      sub.resume()
      await more.waitFor(12)
      expect(seqs(more.events)).toEqual(range(4, 15))
    })

    it('stops delivering to a closed subscription', async () => {
      const log = await fresh()
      const sink = collector()
      const sub = await log.subscribe(T1, { after: undefined }, sink)
      await publishN(log, T1, 2)
      await sink.waitFor(2)
      sub.close()
      await publishN(log, T1, 2)
      await tick(); await tick()
      expect(sink.events).toHaveLength(2)
    })

    it('forgets retained events on reset but keeps counting, so an old id gets a gap, never another event under the same id', async () => {
      const log = await fresh()
      await publishN(log, T1, 4)
      await log.reset()
      expect(await log.window(T1)).toEqual({ firstSeq: 5, lastSeq: 4 })
      const [e] = await publishN(log, T1, 1)
      expect(e!.seq).toBe(5)
      const sink = collector()
      await log.subscribe(T1, { after: 2 }, sink)
      await sink.waitFor(1)
      expect(sink.gaps).toEqual([[3, 4]])
      expect(seqs(sink.events)).toEqual([5])
    })
  })
}

logContract('memory', async (capacity) => createMemoryEventLog({ capacity }), false)

const natsSkip = natsSkipReason()
let nats: NatsServer | undefined
let natsTenant = 0
beforeAll(async () => { if (natsSkip === undefined) nats = await startNatsServer() })
afterAll(async () => { await nats?.stop() })

// Each NATS log gets tenants of its own by remapping T1/T2, since the server's streams outlive a log.
function isolated (log: EventLog): EventLog {
  const n = ++natsTenant
  const map = (t: string) => `${t.slice(0, 24)}${String(n).padStart(12, '0')}`
  const unmap = new Map([[map(T1), T1], [map(T2), T2]])
  const back = (e: StoredEvent) => ({ ...e, tenantId: unmap.get(e.tenantId) ?? e.tenantId })
  return {
    ...log,
    backend: log.backend,
    publish: async (t, s, d) => back(await log.publish(map(t), s, d)),
    subscribe: (t, o, sink) => log.subscribe(map(t), o, { ...sink, event: (e) => sink.event(back(e)), gap: (a, b) => sink.gap(a, b), live: () => sink.live(), error: (e) => sink.error(e) }),
    window: (t) => log.window(map(t)),
    reset: () => log.reset(),
    close: () => log.close(),
    healthy: () => log.healthy(),
    stats: () => log.stats()
  }
}

logContract('NATS JetStream', async (capacity) => isolated(await createNatsEventLog({ url: nats!.url, capacity })), natsSkip !== undefined)

describe('memory event log limits', () => {
  it('keeps at most capacity events per tenant, dropping the oldest and counting them', async () => {
    const log = createMemoryEventLog({ capacity: 10 })
    await publishN(log, T1, 25)
    await publishN(log, T2, 5)
    expect(await log.window(T1)).toEqual({ firstSeq: 16, lastSeq: 25 })
    expect(await log.window(T2)).toEqual({ firstSeq: 1, lastSeq: 5 })
    expect(log.stats()).toMatchObject({ backend: 'memory', published: 30, evicted: 15 })
    await log.close()
  })

  it('stamps events with the injected clock', async () => {
    const log = createMemoryEventLog({ capacity: 10, now: () => 1_700_000_000_000 })
    const e = await log.publish(T1, 'ledger.entry.created', {})
    expect(e.publishedAtMs).toBe(1_700_000_000_000)
    await log.close()
  })

  it('is what createEventLog builds for backend "memory"', async () => {
    const log = await createEventLog({ ...DEFAULT_CONFIG.events, capacity: 10 })
    expect(log.backend).toBe('memory')
    await log.close()
  })
})

describe.skipIf(natsSkip !== undefined)('NATS event log across instances', () => {
  it('gives two mock instances on one JetStream the same ids, the same replay and each other\'s live events', async () => {
    const tenant = '33333333-3333-4333-8333-333333333333'
    const a = await createEventLog({ ...DEFAULT_CONFIG.events, backend: nats!.url, capacity: 100 })
    const b = await createEventLog({ ...DEFAULT_CONFIG.events, backend: nats!.url, capacity: 100 })
    try {
      expect(a.backend).toBe('nats')
      const fromA = await publishN(a, tenant, 3, 'token.transfer.pending')
      const fromB = await publishN(b, tenant, 2, 'token.transfer.confirmed')
      expect(seqs(fromA)).toEqual([1, 2, 3])
      expect(seqs(fromB)).toEqual([4, 5])
      const ra = collector()
      const rb = collector()
      await a.subscribe(tenant, { after: 1 }, ra)
      await b.subscribe(tenant, { after: 1 }, rb)
      await ra.waitFor(4)
      await rb.waitFor(4)
      // Live: published on A, seen on B, and the other way round.
      await a.publish(tenant, 'wallet.updated', { n: 6 })
      await b.publish(tenant, 'wallet.updated', { n: 7 })
      await ra.waitFor(6)
      await rb.waitFor(6)
      const view = (s: StoredEvent) => [s.seq, s.subject, s.data, s.publishedAtMs]
      expect(ra.events.map(view)).toEqual(rb.events.map(view))
      expect(seqs(ra.events)).toEqual([2, 3, 4, 5, 6, 7])
      expect(await a.window(tenant)).toEqual(await b.window(tenant))
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('fails fast with a helpful message when NATS is not there', async () => {
    await expect(createNatsEventLog({ url: 'nats://127.0.0.1:1', capacity: 10 })).rejects.toThrow(/cannot reach NATS at nats:\/\/127\.0\.0\.1:1/)
  })
})
