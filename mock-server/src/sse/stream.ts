// One open event stream (contract 4): the SSE frame writer. It is the sink its event-log subscription
// hands events to (the log replays and detects gaps), carries out the fault behaviour the domain
// decided (domain/stream-plan.ts when it opened, domain/stream-faults.ts per event, 7.2), and checks
// revocation (2.5), the slow-consumer limit, and writes its record entries (7.3). Methods, not
// closures: the per-event path allocates nothing but the record entry, and writes the event's shared
// frame Buffer.
import type { ServerResponse } from 'node:http'
import type { SseFaultDecision } from '../domain/fault-plan.ts'
import type { EventSink, StoredEvent, Subscription } from '../domain/event-log/types.ts'
import type { SubjectFilter } from '../domain/event-log/subjects.ts'
import type { RecordEntryType } from '../domain/record.ts'
import { eventFaultAction } from '../domain/stream-faults.ts'
import { HEARTBEAT, frameOf, gapFrame, partialFrame } from './frames.ts'

/** Replayed frames are written in chunks of about this size: one write instead of one per event. */
const REPLAY_CHUNK_BYTES = 64 * 1024

function flushTick (s: SseStream): void {
  s.flushScheduled()
}

/** Why the server ended a stream. `client` means the client went away. */
export type CloseReason = 'client' | 'fault' | 'revoked' | 'expired' | 'slow-consumer' | 'reset' | 'shutdown' | 'backend-error' | 'internal-error'

/** What every stream of one app shares: built once when the route registers. */
export interface SseContext {
  maxBufferedBytes: number
  /** 'live', or why the key can no longer be used (2.5). */
  keyState: (keyId: string) => 'live' | 'revoked' | 'expired'
  record: (type: RecordEntryType, fields: Record<string, unknown>) => void
  now: () => number
  /** Runs once when the response has closed, whoever closed it. */
  onClosed: (stream: SseStream) => void
  /** Hears about an unexpected error in one stream (logged by the caller); the stream is closed, nothing else. */
  onError?: (err: unknown, stream: SseStream) => void
}

export interface SseStreamInit {
  streamId: string
  res: ServerResponse
  tenantId: string
  keyId: string
  requestId: string
  filter: SubjectFilter
  faults: SseFaultDecision | undefined
  /** Events up to this sequence are re-sent on purpose (fault sse-duplicate) and marked so in the record. */
  duplicateUpTo: number
  /** The id the client resumed from, if any: its last event id until this stream sends one. */
  resumedFrom: number | undefined
  /** Whatever the route needs back in onClosed (the request, for its record entry). */
  owner: unknown
}

const kStream = Symbol('tenzro.sseStream')
type StreamResponse = ServerResponse & { [kStream]?: SseStream }

// Shared listeners: the stream hangs off the response, so no per-stream bound functions.
function onResponseDrain (this: StreamResponse): void { this[kStream]?.onDrain() }
function onResponseClose (this: StreamResponse): void { this[kStream]?.onClose() }


export class SseStream implements EventSink {
  readonly streamId: string
  readonly tenantId: string
  readonly keyId: string
  readonly requestId: string
  readonly openedAtMs: number
  /** Events written in full. */
  sent = 0
  heartbeats = 0
  /** The last id the client holds in full (sent, or resumed from): where it will resume. */
  lastId: number | undefined
  closed = false
  reason: CloseReason = 'client'
  /** Replay has caught up; events now come as they are published. */
  isLive = false
  stalled = false
  readonly owner: unknown
  private readonly res: StreamResponse
  private readonly ctx: SseContext
  private readonly filter: SubjectFilter
  private readonly faults: SseFaultDecision | undefined
  private readonly duplicateUpTo: number
  private sub: Subscription | undefined
  /** The event a stall held back; written first when the stall ends. */
  private pending: StoredEvent | undefined
  private stallDone = false
  /** An afterMs drop fired while `where` asks for a cut inside a frame: cut the next one. */
  private dropArmed = false
  /** Fault sse-gap with nothing after the resume id yet: the next event is announced as lost (its labels). */
  private gapNext: string[] | undefined
  private timers: NodeJS.Timeout[] | undefined
  /** Frames waiting to be written as one chunk (replay), flushed when big enough or at the end of the tick. */
  private batch: Buffer[] | undefined
  private batchBytes = 0
  private flushPending = false

  constructor (ctx: SseContext, init: SseStreamInit) {
    this.ctx = ctx
    this.res = init.res
    this.streamId = init.streamId
    this.tenantId = init.tenantId
    this.keyId = init.keyId
    this.requestId = init.requestId
    this.filter = init.filter
    this.faults = init.faults
    this.duplicateUpTo = init.duplicateUpTo
    this.owner = init.owner
    this.openedAtMs = ctx.now()
    this.lastId = init.resumedFrom
    this.res[kStream] = this
    this.res.on('drain', onResponseDrain)
    this.res.on('close', onResponseClose)
    const f = init.faults
    if (f?.drop?.afterMs !== undefined) this.timer(f.drop.afterMs, () => this.dropOnTimer())
    if (f?.stall !== undefined && f.stall.afterEvents === 0) this.startStall()
  }

  /** The subscription, once the log has registered it. */
  attach (sub: Subscription): void {
    if (this.closed) { sub.close(); return }
    this.sub = sub
    if (this.stalled) sub.pause()
  }

  private entry (fields: Record<string, unknown>): Record<string, unknown> {
    fields.streamId = this.streamId
    fields.tenant = this.tenantId
    fields.keyId = this.keyId
    fields.requestId = this.requestId
    return fields
  }

  fault (fault: string, fields: Record<string, unknown> = {}): void {
    fields.fault = fault
    this.ctx.record('fault', this.entry(fields))
  }

  /** Fault sse-gap (7.2): announce `from..to` as lost, before anything else the stream sends (4.4). */
  faultGap (from: number, to: number, labels: string[]): void {
    this.fault('sse-gap', { from, to, labels })
    this.gap(from, to)
  }

  /** Fault sse-gap on a resume with nothing after its id yet: the next event is the one lost. */
  armGap (labels: string[]): void {
    this.gapNext = labels
  }

  // ---- EventSink --------------------------------------------------------------------------------

  // Every way into a stream (the log's sink calls, socket events, timers, the heartbeat) catches: an
  // error in one stream ends that stream, recorded and reported, and never reaches the event log's
  // publish loop, another stream or the process. Plain try/catch: nothing allocated per event.
  event (e: StoredEvent): boolean { try { return this.eventUnguarded(e) } catch (err) { this.fail(err); return false } }
  gap (from: number, to: number): void { try { this.gapUnguarded(from, to) } catch (err) { this.fail(err) } }
  heartbeat (): void { try { this.heartbeatUnguarded() } catch (err) { this.fail(err) } }
  flushScheduled (): void { try { this.flushScheduledUnguarded() } catch (err) { this.fail(err) } }
  onDrain (): void { try { this.onDrainUnguarded() } catch (err) { this.fail(err) } }

  /** Close this stream after an unexpected error: recorded (7.3), reported, the socket destroyed. */
  fail (err: unknown): void {
    if (this.reason === 'internal-error') return
    this.reason = 'internal-error'
    this.closed = true
    try {
      const name = err instanceof Error ? err.name : typeof err
      this.ctx.record('drop', this.entry({ reason: 'internal-error', error: name, lastId: this.lastId ?? null }))
      this.ctx.onError?.(err, this)
    } catch { /* recording must not throw either */ }
    try { this.sub?.pause() } catch { /* the subscription is closed with the response */ }
    this.res.destroy()
  }

  private eventUnguarded (e: StoredEvent): boolean {
    if (this.closed) return false
    // 2.5: nothing published after a revocation or expiry goes out, whatever the heartbeat timer says.
    const state = this.ctx.keyState(this.keyId)
    if (state !== 'live') { this.end(state); return false }
    if (!this.filter(e.subject)) return true
    if (this.gapNext !== undefined) {
      const labels = this.gapNext
      this.gapNext = undefined
      this.faultGap(e.seq, e.seq, labels)
      return true
    }
    if (this.stalled) { this.pending = e; return false }
    const f = this.faults
    if (f !== undefined) {
      const action = eventFaultAction(f, this.sent, this.stallDone, this.dropArmed)
      if (action === 'stall') {
        this.pending = e
        this.startStall()
        return false
      }
      if (action === 'drop') {
        this.dropAt(e, f.drop!.where)
        return false
      }
    }
    const frame = frameOf(e)
    if (frame === undefined) {
      // Not serialisable: the client is told this one id is lost (4.4) instead of the stream dying.
      this.out(gapFrame(e.seq, e.seq))
      this.lastId = e.seq
      this.ctx.record('frame', this.entry({ id: e.seq, event: 'stream.gap', from: e.seq, to: e.seq, reason: 'unserializable' }))
      return true
    }
    const ok = this.out(frame)
    this.sent++
    this.lastId = e.seq
    // One literal with every field: one shape, no property additions on the per-frame path.
    this.ctx.record('frame', { id: e.seq, event: e.subject, replay: !this.isLive, duplicate: e.seq <= this.duplicateUpTo, streamId: this.streamId, tenant: this.tenantId, keyId: this.keyId, requestId: this.requestId })
    if (this.isLive) {
      // Live events are not flow-controlled: a socket that does not drain is cut, not buffered for.
      if (this.res.writableLength > this.ctx.maxBufferedBytes) { this.slowConsumer(); return false }
      return true
    }
    return ok
  }

  private gapUnguarded (from: number, to: number): void {
    if (this.closed) return
    this.out(gapFrame(from, to))
    this.lastId = to
    this.ctx.record('frame', this.entry({ id: to, event: 'stream.gap', from, to }))
  }

  live (): void {
    this.isLive = true
  }

  error (err: Error): void {
    if (this.closed) return
    this.ctx.record('drop', this.entry({ reason: 'backend-error', message: err.message, lastId: this.lastId ?? null }))
    this.end('backend-error')
  }

  // ---- timers, heartbeats, faults -----------------------------------------------------------------

  /** One shared timer calls this for every stream (contract 4.3, 2.5). */
  private heartbeatUnguarded (): void {
    if (this.closed) return
    const state = this.ctx.keyState(this.keyId)
    if (state !== 'live') { this.end(state); return }
    if (this.stalled) return
    this.out(HEARTBEAT)
    this.heartbeats++
    if (this.res.writableLength > this.ctx.maxBufferedBytes) this.slowConsumer()
  }

  private timer (ms: number, fn: () => void): void {
    const t = setTimeout(() => { try { fn() } catch (err) { this.fail(err) } }, ms)
    t.unref()
    if (this.timers === undefined) this.timers = [t]
    else this.timers.push(t)
  }

  private startStall (): void {
    const stall = this.faults!.stall!
    this.stalled = true
    this.stallDone = true
    this.sub?.pause()
    this.fault('sse-stall', { phase: 'start', afterEvents: this.sent, durationMs: stall.durationMs ?? null })
    if (stall.durationMs !== undefined) this.timer(stall.durationMs, () => this.endStall())
  }

  private endStall (): void {
    if (this.closed) return
    this.stalled = false
    this.fault('sse-stall', { phase: 'end', afterEvents: this.sent })
    const p = this.pending
    this.pending = undefined
    if (p !== undefined && !this.event(p)) return
    this.sub?.resume()
  }

  private dropOnTimer (): void {
    if (this.closed) return
    const where = this.faults!.drop!.where
    if (where === 'between-frames') this.dropAt(undefined, where)
    else this.dropArmed = true
  }

  /** Fault sse-drop (7.2): cut the connection, between frames or inside the frame of `e`. */
  private dropAt (e: StoredEvent | undefined, where: 'between-frames' | 'after-id' | 'before-blank'): void {
    this.flush()
    const frame = e === undefined ? undefined : frameOf(e)
    if (frame !== undefined && where !== 'between-frames') this.res.write(partialFrame(frame, where))
    this.ctx.record('drop', this.entry({ reason: 'fault', where, atId: e?.seq ?? null, lastId: this.lastId ?? null, sent: this.sent, live: this.isLive, labels: this.faults!.labels }))
    this.reason = 'fault'
    this.cut()
  }

  private slowConsumer (): void {
    this.ctx.record('drop', this.entry({ reason: 'slow-consumer', bufferedBytes: this.res.writableLength, maxBufferedBytes: this.ctx.maxBufferedBytes, lastId: this.lastId ?? null }))
    this.reason = 'slow-consumer'
    this.closed = true
    this.res.destroy()
  }

  /**
   * Write a frame. Live frames go straight out (the same Buffer to every stream). During replay they
   * are gathered and written as one chunk per 64 KiB or per tick, so a 10,000-event replay is a few
   * dozen writes, not 10,000; anything written after them joins the queue, so order is kept.
   */
  private out (buf: Buffer): boolean {
    if (this.isLive && this.batch === undefined) return this.res.write(buf)
    if (this.batch === undefined) this.batch = [buf]
    else this.batch.push(buf)
    this.batchBytes += buf.length
    if (this.batchBytes >= REPLAY_CHUNK_BYTES) return this.flush()
    if (!this.flushPending) {
      this.flushPending = true
      process.nextTick(flushTick, this)
    }
    return true
  }

  /** Write what `out` gathered; false when the socket wants a drain. */
  private flush (): boolean {
    const batch = this.batch
    if (batch === undefined) return true
    const chunk = batch.length === 1 ? batch[0]! : Buffer.concat(batch, this.batchBytes)
    this.batch = undefined
    this.batchBytes = 0
    if (this.res.destroyed) return false
    return this.res.write(chunk)
  }

  /** The end-of-tick flush: a replay that filled the socket waits for its drain. */
  private flushScheduledUnguarded (): void {
    this.flushPending = false
    if (!this.flush() && !this.isLive && !this.closed) this.sub?.pause()
  }

  /** End the connection abruptly after what was written reaches the socket (no chunked terminator). */
  private cut (): void {
    this.closed = true
    this.sub?.pause()
    this.flush()
    const socket = this.res.socket
    if (socket === null) this.res.destroy()
    else socket.end()
  }

  /** Close cleanly (revocation, reset, shutdown): the response ends and a client sees end of stream. */
  end (reason: CloseReason): void {
    if (this.closed) return
    this.closed = true
    this.reason = reason
    if (reason !== 'client' && reason !== 'backend-error') this.ctx.record('drop', this.entry({ reason, lastId: this.lastId ?? null }))
    this.sub?.pause()
    this.flush()
    this.res.end()
  }

  private onDrainUnguarded (): void {
    if (!this.closed && !this.stalled) this.sub?.resume()
  }

  onClose (): void {
    if (this.res[kStream] !== this) return
    this.res[kStream] = undefined
    this.closed = true
    if (this.timers !== undefined) for (const t of this.timers) clearTimeout(t)
    this.timers = undefined
    this.sub?.close()
    this.res.removeListener('drain', onResponseDrain)
    this.ctx.record('stream', this.entry({
      phase: 'close',
      reason: this.reason,
      events: this.sent,
      heartbeats: this.heartbeats,
      lastId: this.lastId ?? null,
      durationMs: this.ctx.now() - this.openedAtMs
    }))
    this.ctx.onClosed(this)
  }
}
