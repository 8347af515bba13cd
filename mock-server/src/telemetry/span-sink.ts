// Where the request path puts its SERVER spans when tracing is on: fixed-size slots (span-layout.ts)
// in a few preallocated batch buffers, each handed whole (transferred, not copied) to an export worker
// (span-worker.ts) when it is full or OTEL_BSP_SCHEDULE_DELAY after its first span, and handed back
// once encoded. This is the BatchSpanProcessor's contract without its cost on the request path: its
// queue is the buffers (OTEL_BSP_MAX_QUEUE_SIZE spans), its batch a buffer
// (OTEL_BSP_MAX_EXPORT_BATCH_SIZE). When every buffer is out, a span is dropped, as the BSP drops
// when its queue is full, but counted: stats() and the mock's /metrics tell.
import { Worker } from 'node:worker_threads'
import * as L from './span-layout.ts'
import type { FromWorker, ToWorker, WorkerInit } from './span-worker.ts'

export interface SpanSinkOptions extends WorkerInit {
  maxQueueSize: number
  maxExportBatchSize: number
  scheduledDelayMillis: number
}

export interface SpanSinkStats {
  /** Spans handed to the export worker. */
  queued: number
  /** Spans dropped because every batch buffer was out (the queue was full) or the worker had died. */
  dropped: number
  /** Spans the exporter delivered, and those it gave up on (after its retries, or its queue of exports in flight full). */
  exported: number
  failed: number
}

/** Distinct shared strings: past this, values travel with their batch instead. */
const MAX_SHARED = 50_000
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './span-worker.ts' : './span-worker.js', import.meta.url)

export class SpanSink {
  readonly #worker: Worker
  readonly #batchSize: number
  readonly #delay: number
  readonly #free: ArrayBuffer[] = []
  readonly #shared = new Map<string, number>()
  #defs: Array<[number, L.RefValue]> = []
  #values: L.RefValue[] = []
  #buf: ArrayBuffer | undefined
  #n = 0
  #timer: NodeJS.Timeout | undefined
  #dead = false
  #flushes = new Map<number, () => void>()
  #nextFlush = 0
  readonly #stats: SpanSinkStats = { queued: 0, dropped: 0, exported: 0, failed: 0 }

  /** Views of the batch being filled, valid after slot() returned a slot. */
  u8 = new Uint8Array(0)
  i32 = new Int32Array(0)
  f64 = new Float64Array(0)

  constructor (opts: SpanSinkOptions) {
    this.#batchSize = Math.max(1, Math.floor(opts.maxExportBatchSize))
    this.#delay = Math.max(0, opts.scheduledDelayMillis)
    const buffers = Math.max(2, Math.ceil(opts.maxQueueSize / this.#batchSize))
    for (let i = 0; i < buffers; i++) this.#free.push(new ArrayBuffer(this.#batchSize * L.SLOT_BYTES))
    const init: WorkerInit = {
      resource: opts.resource,
      scope: opts.scope,
      attributeValueLengthLimit: opts.attributeValueLengthLimit,
      attributeCountLimit: opts.attributeCountLimit,
      hrOffsetNs: opts.hrOffsetNs,
      exporter: opts.exporter
    }
    this.#worker = new Worker(WORKER, { workerData: init })
    // The request path must never wait for the worker, nor the process stay up for it: flush and
    // shutdown hold it while they wait.
    this.#worker.unref()
    this.#worker.on('message', (m: FromWorker) => {
      this.#stats.exported = m.exported
      this.#stats.failed = m.failed
      if (m.type === 'buffer') this.#free.push(m.buf)
      else if (m.type === 'done') { this.#flushes.get(m.id)?.(); this.#flushes.delete(m.id) }
    })
    this.#worker.on('error', () => { this.#die() })
    this.#worker.on('exit', () => { this.#die() })
  }

  #die (): void {
    this.#dead = true
    for (const done of this.#flushes.values()) done()
    this.#flushes.clear()
  }

  /**
   * The byte offset of a fresh slot in the current batch (its views in u8/i32/f64), or -1 when the
   * span must be dropped (counted). Fill it, then call commit().
   */
  slot (): number {
    if (this.#buf === undefined) {
      const buf = this.#dead ? undefined : this.#free.pop()
      if (buf === undefined) {
        this.#stats.dropped++
        return -1
      }
      this.#buf = buf
      this.u8 = new Uint8Array(buf)
      this.i32 = new Int32Array(buf)
      this.f64 = new Float64Array(buf)
      this.#timer = setTimeout(() => { this.#send() }, this.#delay)
      this.#timer.unref()
    }
    return this.#n * L.SLOT_BYTES
  }

  commit (): void {
    if (++this.#n >= this.#batchSize) this.#send()
  }

  /** A reference to a value that repeats (a route, a tenant, a user agent): sent to the worker once. */
  shared (v: string): number {
    return this.#share(v, v)
  }

  /** A reference to a string array that repeats (fault labels), shared under `key`. */
  sharedArray (key: string, v: readonly string[]): number {
    return this.#share(key, v)
  }

  /** The shared reference of `key`, defining it with value `v` on first use; a per-span value once the table is full. */
  #share (key: string, v: string | readonly string[]): number {
    let id = this.#shared.get(key)
    if (id === undefined) {
      if (this.#shared.size >= MAX_SHARED) return this.value(v)
      id = this.#shared.size
      this.#shared.set(key, id)
      this.#defs.push([id, v])
    }
    return id
  }

  /** A reference to a value of this span only (a path with an id in it, a query). */
  value (v: L.RefValue): number {
    this.#values.push(v)
    return -(this.#values.length + 1)
  }

  #send (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const buf = this.#buf
    if (buf === undefined) return
    if (this.#n === 0) return
    const msg: ToWorker = { type: 'batch', buf, n: this.#n, defs: this.#defs, values: this.#values }
    this.#stats.queued += this.#n
    this.#buf = undefined
    this.#n = 0
    this.#defs = []
    this.#values = []
    this.u8 = new Uint8Array(0)
    this.i32 = new Int32Array(0)
    this.f64 = new Float64Array(0)
    if (this.#dead) {
      this.#stats.dropped += msg.n
      return
    }
    this.#worker.postMessage(msg, [buf])
  }

  #call (type: 'flush' | 'shutdown'): Promise<void> {
    this.#send()
    if (this.#dead) return Promise.resolve()
    const id = ++this.#nextFlush
    this.#worker.ref()
    return new Promise<void>((resolve) => {
      this.#flushes.set(id, resolve)
      this.#worker.postMessage({ type, id } satisfies ToWorker)
    }).finally(() => { this.#worker.unref() })
  }

  /** Export every span ended so far. */
  forceFlush (): Promise<void> {
    return this.#call('flush')
  }

  /** Export what is left, then stop the worker. */
  async shutdown (): Promise<void> {
    await this.#call('shutdown')
    this.#dead = true
    await this.#worker.terminate()
  }

  stats (): SpanSinkStats {
    return { ...this.#stats }
  }
}
