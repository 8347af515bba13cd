// The default event log: one bounded ring per tenant. When a ring is full the oldest event is dropped
// and counted; a subscriber resuming from before the window is told about the gap (contract 4.4).
//
// Every subscription has a cursor (the last sequence it was handed). While the cursor is behind the
// newest event the subscription replays from the ring; once it catches up it joins the tenant's live
// set and publish() hands it each event. Replay and live are one loop over one cursor, so the switch
// can neither skip nor repeat an event. A paused subscription leaves the live set and catches up from
// the ring when resumed, so a slow reader never makes the log buffer anything.
import type { EventLog, EventSink, EventWindow, StoredEvent, SubscribeOptions, Subscription } from './types.ts'
import { CursorSubscription } from './subscription.ts'

/** Events handed over per turn of the event loop during replay, so one big replay cannot starve others. */
const REPLAY_BATCH = 1024

interface TenantLog {
  ring: Array<StoredEvent | undefined>
  /** Newest sequence published (0 before the first). */
  last: number
  /** Oldest retained sequence; last + 1 when nothing is retained. */
  first: number
  live: Set<CursorSubscription>
}

class MemorySubscription extends CursorSubscription {
  readonly log: TenantLog
  readonly capacity: number
  private pumping = false
  private scheduled = false

  constructor (log: TenantLog, cursor: number, sink: EventSink, owner: Set<CursorSubscription>, capacity: number) {
    super(cursor, sink, owner)
    this.log = log
    this.capacity = capacity
  }

  protected liveSet (): Set<CursorSubscription> { return this.log.live }
  protected restart (): void { this.pump() }
  protected release (): void {}

  /** Hand over retained events after the cursor until caught up, paused, or a batch is done. */
  pump (): void {
    this.scheduled = false
    if (this.pumping) return
    this.pumping = true
    const log = this.log
    let n = 0
    while (!this.paused && !this.closed) {
      if (this.cursor >= log.last) {
        this.live = true
        log.live.add(this)
        this.sink.live()
        break
      }
      if (this.cursor + 1 < log.first) {
        const from = this.cursor + 1
        this.cursor = log.first - 1
        this.sink.gap(from, log.first - 1)
        continue
      }
      if (++n > REPLAY_BATCH) { this.schedule(); break }
      const e = log.ring[(this.cursor + 1) % this.capacity]!
      this.cursor = e.seq
      if (!this.sink.event(e)) this.paused = true
    }
    this.pumping = false
  }

  schedule (): void {
    if (this.scheduled || this.closed) return
    this.scheduled = true
    setImmediate(() => this.pump())
  }

}

export interface MemoryEventLogOptions {
  /** Events retained per tenant. */
  capacity: number
  now?: () => number
}

export function createMemoryEventLog ({ capacity, now = Date.now }: MemoryEventLogOptions): EventLog {
  if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError('capacity must be an integer >= 1')
  const tenants = new Map<string, TenantLog>()
  const subscriptions = new Set<CursorSubscription>()
  let published = 0
  let evicted = 0
  let closed = false

  function tenantLog (tenantId: string): TenantLog {
    let log = tenants.get(tenantId)
    if (log === undefined) {
      log = { ring: new Array(capacity), last: 0, first: 1, live: new Set() }
      tenants.set(tenantId, log)
    }
    return log
  }

  function publishSync (tenantId: string, subject: string, data: unknown): StoredEvent {
    if (closed) throw new Error('the event log is closed')
    const log = tenantLog(tenantId)
    const e: StoredEvent = { seq: log.last + 1, tenantId, subject, publishedAtMs: now(), data }
    if (e.seq - capacity >= log.first) {
      evicted++
      log.first = e.seq - capacity + 1
    }
    log.ring[e.seq % capacity] = e
    log.last = e.seq
    published++
    for (const sub of log.live) sub.deliver(e)
    return e
  }

  return {
    backend: 'memory',

    async publish (tenantId, subject, data) {
      return publishSync(tenantId, subject, data)
    },

    async subscribe (tenantId: string, opts: SubscribeOptions, sink: EventSink): Promise<Subscription> {
      if (closed) throw new Error('the event log is closed')
      const log = tenantLog(tenantId)
      const after = opts.after === undefined ? log.last : Math.min(opts.after, log.last)
      const sub = new MemorySubscription(log, after, sink, subscriptions, capacity)
      subscriptions.add(sub)
      // Registered now, delivering from the next turn: nothing published in between can be missed,
      // because the cursor, not the live set, decides what is handed over.
      sub.schedule()
      return sub
    },

    async window (tenantId: string): Promise<EventWindow> {
      const log = tenants.get(tenantId)
      return log === undefined ? { firstSeq: 1, lastSeq: 0 } : { firstSeq: log.first, lastSeq: log.last }
    },

    async reset () {
      for (const log of tenants.values()) {
        log.ring = new Array(capacity)
        log.first = log.last + 1
      }
    },

    healthy () {
      return !closed
    },

    stats () {
      return { backend: 'memory', published, evicted, subscriptions: subscriptions.size }
    },

    async close () {
      closed = true
      for (const sub of subscriptions) sub.close()
    }
  }
}
