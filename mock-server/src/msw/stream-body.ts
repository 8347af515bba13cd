// The response side of an event stream served through msw: the small part of node:http's
// ServerResponse that sse/stream.ts (SseStream) writes to, backed by a web ReadableStream that becomes
// the mocked Response's body. So the msw handlers run the very SseStream the Fastify route runs, with
// its faults, heartbeats and revocation checks, and send the same bytes.
//
// Back-pressure follows the writable side of Node streams: write() returns false once more than
// highWaterMark bytes wait unread, and 'drain' comes when the reader has taken enough of them
// (ReadableStream calls pull() whenever its queue falls below the mark).
import { EventEmitter } from 'node:events'

const DEFAULT_HIGH_WATER_MARK = 16 * 1024

/** Why a body ended without its terminator: what a client sees as a dropped connection. */
function cutError (): Error {
  return Object.assign(new Error('The mock cut the event stream (fault sse-drop or slow consumer).'), { code: 'ECONNRESET' })
}

export class StreamBody extends EventEmitter {
  /** The mocked Response's body. */
  readonly body: ReadableStream<Uint8Array>
  /**
   * SseStream ends a dropped stream with `socket.end()`: the frames written so far reach the client,
   * then the connection breaks (no clean end of the response).
   */
  readonly socket: { end (): void }
  private controller!: ReadableStreamDefaultController<Uint8Array>
  private readonly highWaterMark: number
  private state: 'open' | 'cutting' | 'done' = 'open'
  private needDrain = false
  private closeEmitted = false

  constructor (highWaterMark = DEFAULT_HIGH_WATER_MARK) {
    super()
    this.highWaterMark = highWaterMark
    this.socket = { end: () => { this.cut() } }
    this.body = new ReadableStream<Uint8Array>({
      start: (c) => { this.controller = c },
      pull: () => { this.pulled() },
      cancel: () => {
        // The client went away (aborted its fetch or closed its EventSource).
        this.state = 'done'
        this.emitClose()
      }
    }, { highWaterMark, size: (chunk) => chunk.byteLength })
  }

  /** Bytes written and not yet read. */
  get writableLength (): number {
    if (this.state === 'done') return 0
    return Math.max(0, this.highWaterMark - (this.controller.desiredSize ?? this.highWaterMark))
  }

  /** Like ServerResponse.destroyed: nothing more can be written. */
  get destroyed (): boolean {
    return this.state !== 'open'
  }

  write (chunk: Uint8Array | string): boolean {
    if (this.state !== 'open') return false
    // A copy: SseStream shares one frame Buffer between every stream that carries the event.
    this.controller.enqueue(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : new Uint8Array(chunk))
    const ok = (this.controller.desiredSize ?? 0) > 0
    if (!ok) this.needDrain = true
    return ok
  }

  /** A clean end: what is queued is still read, then the body ends. */
  end (): void {
    if (this.state !== 'open') return
    this.state = 'done'
    this.controller.close()
    this.emitClose()
  }

  /** Break the body now, dropping what is queued (a slow consumer's stream). */
  destroy (): void {
    if (this.state === 'done') return
    this.state = 'done'
    this.controller.error(cutError())
    this.emitClose()
  }

  /** Break the body once what is queued has been read. */
  private cut (): void {
    if (this.state !== 'open') return
    this.state = 'cutting'
    if (this.writableLength === 0) this.finishCut()
    this.emitClose()
  }

  private finishCut (): void {
    this.state = 'done'
    this.controller.error(cutError())
  }

  private pulled (): void {
    if (this.state === 'cutting') {
      if (this.writableLength === 0) this.finishCut()
      return
    }
    if (this.needDrain && this.state === 'open') {
      this.needDrain = false
      this.emit('drain')
    }
  }

  private emitClose (): void {
    if (this.closeEmitted) return
    this.closeEmitted = true
    // Like node:http, 'close' comes after the call that closed the response has returned.
    queueMicrotask(() => this.emit('close'))
  }
}
