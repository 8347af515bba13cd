// The NATS JetStream event log (contract 4.1: the real service forwards a JetStream stream over SSE).
//
// One stream per tenant, `TENZRO_EVENTS_<tenant>` on subjects `tenzro.events.<tenant>.>`, so the stream
// sequence is the tenant's sequence and the SSE id (4.3). Streams keep `capacity` messages and drop
// the oldest. Every mock instance on the same JetStream therefore serves the same ids and the same
// replay.
//
// Live events: per tenant, one ordered consumer (the "tail") per instance, started at the stream's
// last sequence + 1 the first time a client of this instance follows that tenant; it hands each event
// to the live subscriptions, decoded once and shared. Replay: a subscription behind the tail is handed
// the events the tail still holds (its ring: the last `capacity` events it decoded, like the memory
// log's) in the same loop as the memory log; only events older than the ring are read through the
// subscription's own ordered consumer, and those go into the ring too. So a replayed event is decoded
// once per instance, and every stream that replays it writes the same StoredEvent and so the same frame
// Buffer (sse/frames.ts), as live streams do. A subscription joins the tail's live set once its cursor
// reaches the tail's. Every side compares sequences against one cursor, so no switch skips or repeats
// an event.
import { randomUUID } from 'node:crypto'
import { connect } from '@nats-io/transport-node'
import type { NatsConnection } from '@nats-io/transport-node'
import {
  jetstream, jetstreamManager, DeliverPolicy, DiscardPolicy, StorageType,
  type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg
} from '@nats-io/jetstream'
import { hash32 } from '../random.ts'
import { CursorSubscription } from './subscription.ts'
import type { EventLog, EventSink, EventWindow, StoredEvent, SubscribeOptions, Subscription } from './types.ts'

const STREAM_PREFIX = 'TENZRO_EVENTS_'
const SUBJECT_PREFIX = 'tenzro.events.'
/** Messages a replay consumer pulls ahead; bounds what a paused replay holds in memory. */
const REPLAY_PULL = 256
/** Events handed over per turn of the event loop when replaying from the ring (as the memory log). */
const REPLAY_BATCH = 1024
const TOKEN_RE = /^[A-Za-z0-9_-]{1,64}$/
/** Attempts per publish when the stream is not answering yet (see publish). */
const PUBLISH_TRIES = 5

/** A tenant id as one NATS subject token and stream-name suffix. UUIDs pass as they are. */
export function tenantToken (tenantId: string): string {
  if (TOKEN_RE.test(tenantId)) return tenantId
  return tenantId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48) + '_' + hash32(tenantId).toString(16)
}

interface Wire { t: number, d: unknown }

interface Tail {
  tenantId: string
  stream: string
  /** Prefix of this tenant's NATS subjects, stripped to get the event subject. */
  prefix: string
  /** Highest sequence the tail has handed to live subscriptions. */
  last: number
  subs: Set<CursorSubscription>
  messages: ConsumerMessages | undefined
  /** Decoded events by `seq % ring.length`; a slot is valid for seq s when its event's seq is s. */
  ring: Array<StoredEvent | undefined>
}

/** The ring's event for `seq`, if it holds it. */
function held (tail: Tail, seq: number): StoredEvent | undefined {
  const e = tail.ring[seq % tail.ring.length]
  return e !== undefined && e.seq === seq ? e : undefined
}

/** The message as a StoredEvent: the ring's if it holds it, else decoded once and kept unless the slot holds a newer one. */
function decode (tail: Tail, m: JsMsg): StoredEvent {
  const seq = m.seq
  const slot = seq % tail.ring.length
  const e = tail.ring[slot]
  if (e !== undefined && e.seq === seq) return e
  const w = m.json<Wire>()
  const d: StoredEvent = { seq, tenantId: tail.tenantId, subject: m.subject.slice(tail.prefix.length), publishedAtMs: w.t, data: w.d }
  if (e === undefined || e.seq < seq) tail.ring[slot] = d
  return d
}

class NatsSubscription extends CursorSubscription {
  readonly tail: Tail
  readonly js: JetStreamClient
  /** First retained sequence when subscribed; a cursor below it is reported as a gap before replay. */
  readonly firstSeq: number
  private replaying = false
  private replayMessages: ConsumerMessages | undefined
  private wake: (() => void) | undefined
  private pumping = false
  private scheduled = false

  constructor (tail: Tail, cursor: number, firstSeq: number, sink: EventSink, js: JetStreamClient, owner: Set<CursorSubscription>) {
    super(cursor, sink, owner)
    this.tail = tail
    this.firstSeq = firstSeq
    this.js = js
  }

  protected liveSet (): Set<CursorSubscription> { return this.tail.subs }
  protected restart (): void {
    const wake = this.wake
    this.wake = undefined
    if (wake !== undefined) wake()
    else this.catchUp()
  }

  protected release (): void {
    this.replayMessages?.stop()
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  start (): void {
    if (this.closed || this.paused) return
    if (this.cursor + 1 < this.firstSeq) {
      const from = this.cursor + 1
      this.cursor = this.firstSeq - 1
      this.sink.gap(from, this.firstSeq - 1)
      if (this.closed || this.paused) return
    }
    this.catchUp()
  }

  /** Live if the cursor has reached the tail, else replay (from the ring, then JetStream) until it has. */
  private catchUp (): void {
    if (this.replaying) return
    this.pump()
  }

  /** Hand over the ring's events after the cursor until caught up, paused, a batch is done, or the ring lacks the next one. */
  private pump (): void {
    this.scheduled = false
    if (this.pumping || this.replaying) return
    this.pumping = true
    const tail = this.tail
    let n = 0
    while (!this.paused && !this.closed) {
      if (this.cursor >= tail.last) { this.goLive(); break }
      const e = held(tail, this.cursor + 1)
      if (e === undefined) { void this.replay(); break }
      if (++n > REPLAY_BATCH) { this.schedule(); break }
      this.cursor = e.seq
      if (!this.sink.event(e)) this.paused = true
    }
    this.pumping = false
  }

  private schedule (): void {
    if (this.scheduled || this.closed) return
    this.scheduled = true
    setImmediate(() => { this.pump() })
  }

  private goLive (): void {
    this.live = true
    this.tail.subs.add(this)
    this.sink.live()
  }

  private async replay (): Promise<void> {
    this.replaying = true
    let messages: ConsumerMessages | undefined
    let failed = false
    try {
      const consumer = await this.js.consumers.get(this.tail.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.cursor + 1 })
      if (this.closed) return
      messages = await consumer.consume({ max_messages: REPLAY_PULL })
      this.replayMessages = messages
      if (this.closed) return
      for await (const m of messages) {
        if (this.closed) break
        if (m.seq <= this.cursor) continue
        if (m.seq > this.cursor + 1) {
          // Dropped from the stream while this replay was under way (4.4).
          this.sink.gap(this.cursor + 1, m.seq - 1)
          if (this.closed) break
        }
        this.cursor = m.seq
        if (!this.sink.event(decode(this.tail, m))) this.paused = true
        while (this.paused && !this.closed) await new Promise<void>((resolve) => { this.wake = resolve })
        if (this.closed) break
        if (this.cursor >= this.tail.last) {
          this.goLive()
          break
        }
        // The ring holds the rest (the tail's events, or another replay's): hand those over from it.
        if (held(this.tail, this.cursor + 1) !== undefined) break
      }
    } catch (err) {
      failed = true
      if (!this.closed) this.sink.error(err instanceof Error ? err : new Error(String(err)))
    } finally {
      this.replaying = false
      this.replayMessages = undefined
      messages?.stop()
    }
    if (!failed && !this.closed && !this.paused && !this.live) this.pump()
  }

}

export interface NatsEventLogOptions {
  /** `nats://host:port` (a comma-separated list of servers works too). */
  url: string
  /** Messages kept per tenant stream. */
  capacity: number
  now?: () => number
  /** JetStream storage for new streams; file by default. */
  storage?: 'file' | 'memory'
}

export async function createNatsEventLog ({ url, capacity, now = Date.now, storage = 'file' }: NatsEventLogOptions): Promise<EventLog> {
  let nc: NatsConnection
  try {
    nc = await connect({ servers: url.split(','), name: 'tenzro-mock' })
  } catch (err) {
    throw new Error(`cannot reach NATS at ${url} (${(err as Error).message}); start nats-server -js there, or set events.backend to "memory"`, { cause: err })
  }
  let jsm: JetStreamManager
  try {
    jsm = await jetstreamManager(nc)
  } catch (err) {
    await nc.close()
    throw new Error(`NATS at ${url} has no JetStream (${(err as Error).message}); start nats-server with -js`, { cause: err })
  }
  const js = jetstream(nc)
  const streams = new Map<string, Promise<string>>()
  const tails = new Map<string, Promise<Tail>>()
  const subscriptions = new Set<CursorSubscription>()
  let published = 0
  let closed = false
  /** Unique per connection: message ids are `<instance>.<counter>`. */
  const instance = randomUUID()
  let msgCounter = 0

  function ensureStream (tenantId: string): Promise<string> {
    let p = streams.get(tenantId)
    if (p === undefined) {
      const token = tenantToken(tenantId)
      const name = STREAM_PREFIX + token
      const subject = `${SUBJECT_PREFIX}${token}.>`
      p = jsm.streams.add({
        name,
        subjects: [subject],
        max_msgs: capacity,
        discard: DiscardPolicy.Old,
        storage: storage === 'memory' ? StorageType.Memory : StorageType.File,
        num_replicas: 1
      }).then(() => name, async (err: Error) => {
        // Another instance made it first, perhaps with another capacity: use it as it is. Two instances
        // adding it at the same moment can also be told "subjects overlap with an existing stream"
        // (the other's add, same name and subjects), seen in about 1 in 20 three-way races here.
        if (!/already in use|subjects overlap/i.test(err.message)) throw err
        const info = await jsm.streams.info(name).catch(() => { throw err })
        if (!info.config.subjects?.includes(subject)) throw err
        return name
      })
      p.catch(() => streams.delete(tenantId))
      streams.set(tenantId, p)
    }
    return p
  }

  function onTailMessage (tail: Tail, m: JsMsg): void {
    if (m.seq <= tail.last) return
    const e = decode(tail, m)
    tail.ring[e.seq % tail.ring.length] = e
    tail.last = e.seq
    for (const sub of tail.subs) sub.deliver(e)
  }

  function ensureTail (tenantId: string): Promise<Tail> {
    let p = tails.get(tenantId)
    if (p === undefined) {
      p = (async () => {
        const stream = await ensureStream(tenantId)
        const info = await jsm.streams.info(stream)
        const tail: Tail = { tenantId, stream, prefix: `${SUBJECT_PREFIX}${tenantToken(tenantId)}.`, last: info.state.last_seq, subs: new Set(), messages: undefined, ring: new Array(capacity) }
        const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: tail.last + 1 })
        tail.messages = await consumer.consume({ callback: (m) => onTailMessage(tail, m) })
        return tail
      })()
      p.catch(() => tails.delete(tenantId))
      tails.set(tenantId, p)
    }
    return p
  }

  async function window (tenantId: string): Promise<EventWindow> {
    const stream = await ensureStream(tenantId)
    const { state } = await jsm.streams.info(stream)
    return { firstSeq: state.messages === 0 ? state.last_seq + 1 : state.first_seq, lastSeq: state.last_seq }
  }

  return {
    backend: 'nats',

    async publish (tenantId, subject, data) {
      if (closed) throw new Error('the event log is closed')
      const token = tenantToken(tenantId)
      await ensureStream(tenantId)
      const publishedAtMs = now()
      // A stream another instance has just created can answer "no responders" for a moment. The client
      // retries that (and timeouts) with backoff; the message id makes JetStream store a retried
      // message once (its duplicate window), so a retry never becomes a second event.
      const ack = await js.publish(`${SUBJECT_PREFIX}${token}.${subject}`, JSON.stringify({ t: publishedAtMs, d: data }), { retries: PUBLISH_TRIES, msgID: `${instance}.${++msgCounter}` })
      published++
      return { seq: ack.seq, tenantId, subject, publishedAtMs, data }
    },

    async subscribe (tenantId: string, opts: SubscribeOptions, sink: EventSink): Promise<Subscription> {
      if (closed) throw new Error('the event log is closed')
      const tail = await ensureTail(tenantId)
      let cursor = tail.last
      let firstSeq = 1
      if (opts.after !== undefined) {
        const w = await window(tenantId)
        // Beyond the newest is "live from now" (4.4): the newest this instance knows of.
        const newest = Math.max(w.lastSeq, tail.last)
        cursor = Math.min(opts.after, newest)
        firstSeq = w.firstSeq
      }
      const sub = new NatsSubscription(tail, cursor, firstSeq, sink, js, subscriptions)
      subscriptions.add(sub)
      setImmediate(() => sub.start())
      return sub
    },

    async position (tenantId: string): Promise<number> {
      // The tail is started alongside, so the subscription that follows usually finds it ready.
      const [w] = await Promise.all([window(tenantId), ensureTail(tenantId)])
      return w.lastSeq
    },

    window,

    async reset () {
      const names: string[] = []
      for await (const name of jsm.streams.names()) if (name.startsWith(STREAM_PREFIX)) names.push(name)
      await Promise.all(names.map((n) => jsm.streams.purge(n)))
      for (const p of tails.values()) {
        try { (await p).ring.fill(undefined) } catch { /* never started */ }
      }
    },

    healthy () {
      return !closed && !nc.isClosed()
    },

    stats () {
      return { backend: 'nats', published, evicted: 0, subscriptions: subscriptions.size }
    },

    async close () {
      if (closed) return
      closed = true
      for (const sub of subscriptions) sub.close()
      for (const p of tails.values()) {
        try { (await p).messages?.stop() } catch { /* never started */ }
      }
      await nc.close()
    }
  }
}
