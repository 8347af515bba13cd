// An embedded OTLP/HTTP trace receiver (OTLP spec 1.x, "OTLP/HTTP"):
// https://opentelemetry.io/docs/specs/otlp/#otlphttp
//
// Built on node:http rather than Fastify: it serves one route, needs the raw body bytes (to
// decompress and decode protobuf, and to forward them unchanged), and answers in the request's
// own encoding. Fastify would add a router, a content-type parser layer we would bypass, and
// per-request hooks that a load test's thousands of exports per second would pay for.
//
// What the answer costs: read the body, gunzip on libuv's thread pool, check it, answer. Protobuf
// is checked on the wire format without decoding (wire.ts) and kept as bytes; protobufjs decodes
// it, and the Span model is built (span.ts), only when someone reads the spans, and never for
// spans beyond maxSpans (maxSpans 0 decodes nothing). JSON is parsed and checked as a document.
// Forwarding never delays the answer.
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzip, inflate, inflateRaw } from 'node:zlib'
import { ExportTraceServiceRequest, ExportTraceServiceResponse, RpcStatus } from './proto.ts'
import { checkExportRequest, normaliseBatch } from './span.ts'
import type { PendingBatch, Span } from './span.ts'
import { scanExportRequest } from './wire.ts'

/** A protobuf export checked by scanExportRequest, kept undecoded: its first `take` valid spans are kept. */
interface PendingPayload {
  payload: Uint8Array
  take: number
}

export type Encoding = 'protobuf' | 'json'
export type Coding = 'identity' | 'gzip' | 'deflate'

export interface OtlpLogger {
  debug (obj: object, msg?: string): void
  warn (obj: object, msg?: string): void
}

export interface OtlpReceiverOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string
  /** Port; 0 (default) picks a free one. */
  port?: number
  /** Path of the traces endpoint. Default /v1/traces (OTLP spec, "OTLP/HTTP Request"). */
  path?: string
  /** Largest body accepted, on the wire and again after decompression. Default 16 MiB. */
  maxBodyBytes?: number
  /** Spans kept; later ones are dropped, counted, and reported as rejected. Default 100 000. */
  maxSpans?: number
  /**
   * Collector to copy every accepted payload to, bytes and encoding unchanged. A URL whose path
   * is empty or `/` gets `/v1/traces` appended, like OTEL_EXPORTER_OTLP_ENDPOINT; any other path
   * is used as is, like OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.
   */
  forwardTo?: string
  /** Abort a forward after this long. Default 10 000 ms. */
  forwardTimeoutMs?: number
  /** Forwards under way at once; a payload beyond this is not forwarded, and counted. Default 64. */
  maxForwardsInFlight?: number
  fetch?: typeof fetch
  logger?: OtlpLogger
}

export interface OtlpReceiverStats {
  /** Every HTTP request, whatever its answer. */
  requests: number
  /** Requests answered 200 (including partial successes). */
  exports: number
  spansAccepted: number
  /** Spans refused as invalid (bad ids, wrong types) and reported in partial_success. */
  spansRejected: number
  /** Valid spans not kept because maxSpans was reached (also reported in partial_success). */
  spansDropped: number
  /** Requests answered 4xx, by status. */
  refused: Record<number, number>
  /** Accepted exports by encoding and by compression: shows what a client really sends. */
  encodings: Record<Encoding, number>
  codings: Record<Coding, number>
  forwarded: number
  forwardErrors: number
  /** Payloads not forwarded because maxForwardsInFlight forwards were already under way. */
  forwardsSkipped: number
}

export interface WaitForSpansResult {
  met: boolean
  spans: Span[]
}


const DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  path: '/v1/traces',
  maxBodyBytes: 16 * 1024 * 1024,
  maxSpans: 100_000,
  forwardTimeoutMs: 10_000,
  maxForwardsInFlight: 64
}

const CONTENT_TYPE: Record<Encoding, string> = { protobuf: 'application/x-protobuf', json: 'application/json' }

// google.rpc.Code values that match each HTTP answer (OTLP lets a server omit the code; we
// fill it so gRPC-minded tools read the right meaning).
const RPC_CODE: Record<number, number> = { 400: 3, 404: 5, 405: 12, 413: 8, 415: 3 }

const NOOP_LOGGER: OtlpLogger = { debug () {}, warn () {} }

function intAtLeast (name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new TypeError(`createOtlpReceiver: ${name} must be an integer >= ${min}, got ${String(value)}`)
  return value
}

function resolveForwardUrl (forwardTo: string): string {
  let url: URL
  try {
    url = new URL(forwardTo)
  } catch {
    throw new TypeError(`createOtlpReceiver: forwardTo ${JSON.stringify(forwardTo)} is not a URL; pass e.g. http://127.0.0.1:4318`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('createOtlpReceiver: forwardTo must be an http: or https: URL')
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces'
  return url.href
}

function encodingOf (contentType: string | undefined): Encoding | undefined {
  if (contentType === undefined) return undefined
  const semi = contentType.indexOf(';')
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf'
  if (type === 'application/json') return 'json'
  return undefined
}

function codingOf (contentEncoding: string | undefined): Coding | undefined {
  if (contentEncoding === undefined) return 'identity'
  const coding = contentEncoding.trim().toLowerCase()
  if (coding === '' || coding === 'identity') return 'identity'
  if (coding === 'gzip' || coding === 'x-gzip') return 'gzip'
  if (coding === 'deflate') return 'deflate'
  return undefined
}

function statusBody (encoding: Encoding, status: number, message: string): Buffer {
  const code = RPC_CODE[status] ?? 2
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }))
  return Buffer.from(RpcStatus.encode({ code, message }).finish())
}

function decompress (body: Buffer, coding: Coding, maxOutputLength: number): Promise<Buffer> {
  if (coding === 'identity') return Promise.resolve(body)
  return new Promise((resolve, reject) => {
    if (coding === 'gzip') {
      gunzip(body, { maxOutputLength }, (err, out) => { if (err) reject(err); else resolve(out) })
      return
    }
    // HTTP "deflate" is the zlib format (RFC 9110 8.4.1.2), but some senders send raw deflate.
    inflate(body, { maxOutputLength }, (err, out) => {
      if (!err) { resolve(out); return }
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') { reject(err); return }
      inflateRaw(body, { maxOutputLength }, (err2, out2) => { if (err2) reject(err2); else resolve(out2) })
    })
  })
}

export async function createOtlpReceiver (options: OtlpReceiverOptions = {}) {
  const host = options.host ?? DEFAULTS.host
  const port = intAtLeast('port', options.port ?? DEFAULTS.port, 0)
  const path = options.path ?? DEFAULTS.path
  if (!path.startsWith('/')) throw new TypeError('createOtlpReceiver: path must start with /')
  const maxBodyBytes = intAtLeast('maxBodyBytes', options.maxBodyBytes ?? DEFAULTS.maxBodyBytes, 1)
  const maxSpans = intAtLeast('maxSpans', options.maxSpans ?? DEFAULTS.maxSpans, 0)
  const forwardUrl = options.forwardTo === undefined ? undefined : resolveForwardUrl(options.forwardTo)
  const forwardTimeoutMs = intAtLeast('forwardTimeoutMs', options.forwardTimeoutMs ?? DEFAULTS.forwardTimeoutMs, 1)
  const maxForwardsInFlight = intAtLeast('maxForwardsInFlight', options.maxForwardsInFlight ?? DEFAULTS.maxForwardsInFlight, 1)
  const fetchImpl = options.fetch ?? globalThis.fetch
  const logger = options.logger ?? NOOP_LOGGER

  // Answers that carry no per-request data, built once (house style principle 2).
  const OK_BODY: Record<Encoding, Buffer> = {
    protobuf: Buffer.from(ExportTraceServiceResponse.encode({}).finish()),
    json: Buffer.from('{}')
  }
  const NOT_FOUND = statusBody('json', 404, `Not found: OTLP traces are accepted at POST ${path}.`)
  const NOT_ALLOWED = statusBody('json', 405, `Method not allowed: send OTLP traces with POST ${path}.`)
  const UNSUPPORTED_TYPE = statusBody('json', 415, 'Unsupported Content-Type: send application/x-protobuf or application/json (OTLP/HTTP).')
  const UNSUPPORTED_CODING: Record<Encoding, Buffer> = {
    protobuf: statusBody('protobuf', 415, 'Unsupported Content-Encoding: send gzip, deflate, or no Content-Encoding.'),
    json: statusBody('json', 415, 'Unsupported Content-Encoding: send gzip, deflate, or no Content-Encoding.')
  }
  const tooLargeMessage = `Payload too large: the limit is ${maxBodyBytes} bytes, compressed and decompressed. Send smaller batches (BatchSpanProcessor maxExportBatchSize).`
  const TOO_LARGE: Record<Encoding, Buffer> = {
    protobuf: statusBody('protobuf', 413, tooLargeMessage),
    json: statusBody('json', 413, tooLargeMessage)
  }

  const stats: OtlpReceiverStats = {
    requests: 0,
    exports: 0,
    spansAccepted: 0,
    spansRejected: 0,
    spansDropped: 0,
    refused: {},
    encodings: { protobuf: 0, json: 0 },
    codings: { identity: 0, gzip: 0, deflate: 0 },
    forwarded: 0,
    forwardErrors: 0,
    forwardsSkipped: 0
  }

  let stored: Span[] = []
  let pending: (PendingBatch | PendingPayload)[] = []
  let held = 0
  let emittedUpTo = 0
  let emitScheduled = false
  const listeners = new Set<(spans: Span[]) => void>()
  const forwards = new Set<Promise<void>>()
  let closed = false

  function drain (): void {
    if (pending.length === 0) return
    const batches = pending
    pending = []
    for (const item of batches) {
      if (!('payload' in item)) {
        normaliseBatch(item, stored)
        continue
      }
      // scanExportRequest accepted these bytes, so they decode, and give the same verdicts
      // (test/otlp-wire.test.ts); a disagreement is a bug, logged rather than thrown at the reader.
      let checked: ReturnType<typeof checkExportRequest>
      try {
        checked = checkExportRequest(ExportTraceServiceRequest.decode(item.payload), false)
      } catch (err) {
        logger.warn({ err }, 'otlp receiver: an export accepted on the wire format did not decode')
        continue
      }
      if (!checked.ok) continue
      let take = item.take
      for (const batch of checked.batches) {
        if (take <= 0) break
        if (batch.spans.length > take) batch.spans = batch.spans.slice(0, take)
        take -= batch.spans.length
        normaliseBatch(batch, stored)
      }
    }
  }

  /** Keeps the first valid spans of a scanned protobuf export that fit under maxSpans; returns how many did not. */
  function keepPayload (payload: Uint8Array, accepted: number): number {
    const take = Math.min(accepted, Math.max(0, maxSpans - held))
    if (take > 0) {
      pending.push({ payload, take })
      held += take
    }
    return accepted - take
  }

  /** Keeps what fits under maxSpans; returns how many valid spans did not fit. */
  function keep (batches: PendingBatch[]): number {
    let dropped = 0
    for (const batch of batches) {
      const room = maxSpans - held
      if (room <= 0) {
        dropped += batch.spans.length
        continue
      }
      if (batch.spans.length > room) {
        dropped += batch.spans.length - room
        batch.spans = batch.spans.slice(0, room)
      }
      pending.push(batch)
      held += batch.spans.length
    }
    return dropped
  }

  function scheduleEmit (): void {
    if (listeners.size === 0 || emitScheduled) return
    emitScheduled = true
    setImmediate(() => {
      emitScheduled = false
      drain()
      if (emittedUpTo >= stored.length) return
      const fresh = stored.slice(emittedUpTo)
      emittedUpTo = stored.length
      for (const listener of listeners) {
        try {
          listener(fresh)
        } catch (err) {
          logger.warn({ err }, 'otlp receiver: a spans listener threw')
        }
      }
    })
  }

  function send (res: ServerResponse, status: number, encoding: Encoding, body: Buffer, close = false): void {
    if (status >= 400) stats.refused[status] = (stats.refused[status] ?? 0) + 1
    if (res.headersSent || res.destroyed) return
    res.statusCode = status
    res.setHeader('Content-Type', CONTENT_TYPE[encoding])
    res.setHeader('Content-Length', body.length)
    if (close) res.setHeader('Connection', 'close')
    res.end(body)
  }

  function refuse (req: IncomingMessage, res: ServerResponse, status: number, encoding: Encoding, body: Buffer, reason: string): void {
    logger.debug({ status, reason, url: req.url, method: req.method }, 'otlp receiver: request refused')
    // Read and discard the body so the keep-alive connection stays usable.
    req.resume()
    send(res, status, encoding, body)
  }

  function badRequest (res: ServerResponse, encoding: Encoding, message: string): void {
    logger.debug({ status: 400, reason: message }, 'otlp receiver: malformed export')
    send(res, 400, encoding, statusBody(encoding, 400, message))
  }

  function forward (body: Buffer, contentType: string, contentEncoding: string | undefined): void {
    if (forwardUrl === undefined) return
    if (forwards.size >= maxForwardsInFlight) {
      stats.forwardsSkipped++
      return
    }
    const headers: Record<string, string> = { 'content-type': contentType }
    if (contentEncoding !== undefined) headers['content-encoding'] = contentEncoding
    const task = (async () => {
      try {
        const res = await fetchImpl(forwardUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(forwardTimeoutMs) })
        await res.arrayBuffer()
        if (res.ok) {
          stats.forwarded++
          return
        }
        forwardFailed(`the collector answered ${res.status}`)
      } catch (err) {
        forwardFailed(err instanceof Error ? err.message : String(err))
      }
    })()
    forwards.add(task)
    void task.finally(() => forwards.delete(task))
  }

  function forwardFailed (reason: string): void {
    stats.forwardErrors++
    // The first failure, then one in a hundred: a collector that is down must not flood the log.
    if (stats.forwardErrors % 100 === 1) {
      logger.warn({ forwardTo: forwardUrl, reason, forwardErrors: stats.forwardErrors }, 'otlp receiver: forwarding failed')
    }
  }

  async function accept (res: ServerResponse, body: Buffer, encoding: Encoding, coding: Coding, contentType: string, contentEncoding: string | undefined): Promise<void> {
    let payload: Buffer
    try {
      payload = await decompress(body, coding, maxBodyBytes)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        send(res, 413, encoding, TOO_LARGE[encoding])
        return
      }
      badRequest(res, encoding, `The body is not valid ${coding} data (Content-Encoding: ${coding}): ${(err as Error).message}. Compress the body with ${coding}, or drop the Content-Encoding header.`)
      return
    }

    let checked: { accepted: number, rejected: number, problems: string[] }
    let dropped: number
    if (encoding === 'protobuf') {
      const scanned = scanExportRequest(payload)
      if (!scanned.ok) {
        badRequest(res, encoding, `The body is not a protobuf ExportTraceServiceRequest: ${scanned.message}. Check the Content-Type matches the encoding.`)
        return
      }
      checked = scanned
      dropped = keepPayload(payload, scanned.accepted)
    } else {
      let message: unknown
      try {
        message = JSON.parse(payload.toString('utf8'))
      } catch (err) {
        badRequest(res, encoding, `The body is not valid JSON: ${(err as Error).message}. Send an OTLP/JSON ExportTraceServiceRequest.`)
        return
      }
      const document = checkExportRequest(message, true)
      if (!document.ok) {
        badRequest(res, encoding, `The body is not a valid ExportTraceServiceRequest: ${document.message}.`)
        return
      }
      checked = document
      dropped = keep(document.batches)
    }
    stats.exports++
    stats.encodings[encoding]++
    stats.codings[coding]++
    stats.spansAccepted += checked.accepted - dropped
    stats.spansRejected += checked.rejected
    stats.spansDropped += dropped
    const rejected = checked.rejected + dropped
    if (rejected === 0) {
      send(res, 200, encoding, OK_BODY[encoding])
    } else {
      const parts: string[] = []
      if (checked.rejected > 0) parts.push(`${checked.rejected} invalid span(s) rejected: ${checked.problems.join('; ')}${checked.rejected > checked.problems.length ? '; …' : ''}`)
      if (dropped > 0) parts.push(`${dropped} span(s) dropped: the receiver holds at most ${maxSpans} spans (maxSpans)`)
      const errorMessage = parts.join('. ')
      logger.debug({ rejected: checked.rejected, dropped, errorMessage }, 'otlp receiver: partial success')
      // proto3 JSON writes int64 as a decimal string.
      const partialSuccess = encoding === 'json'
        ? Buffer.from(JSON.stringify({ partialSuccess: { rejectedSpans: String(rejected), errorMessage } }))
        : Buffer.from(ExportTraceServiceResponse.encode({ partialSuccess: { rejectedSpans: rejected, errorMessage } }).finish())
      send(res, 200, encoding, partialSuccess)
    }
    forward(body, contentType, contentEncoding)
    scheduleEmit()
  }

  function onRequest (req: IncomingMessage, res: ServerResponse): void {
    stats.requests++
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    if ((q === -1 ? url : url.slice(0, q)) !== path) {
      refuse(req, res, 404, 'json', NOT_FOUND, 'path')
      return
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST')
      refuse(req, res, 405, 'json', NOT_ALLOWED, 'method')
      return
    }
    const contentType = req.headers['content-type']
    const encoding = encodingOf(contentType)
    if (encoding === undefined || contentType === undefined) {
      refuse(req, res, 415, 'json', UNSUPPORTED_TYPE, `content-type ${String(contentType)}`)
      return
    }
    const contentEncoding = req.headers['content-encoding']
    const coding = codingOf(contentEncoding)
    if (coding === undefined) {
      refuse(req, res, 415, encoding, UNSUPPORTED_CODING[encoding], `content-encoding ${String(contentEncoding)}`)
      return
    }
    const declared = Number(req.headers['content-length'])
    if (declared > maxBodyBytes) {
      // Answer at once and close: reading megabytes only to discard them helps nobody.
      send(res, 413, encoding, TOO_LARGE[encoding], true)
      req.resume()
      return
    }

    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (chunk: Buffer) => {
      if (over) return
      size += chunk.length
      if (size > maxBodyBytes) {
        over = true
        chunks.length = 0
        send(res, 413, encoding, TOO_LARGE[encoding], true)
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (over) return
      const body = chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks, size)
      accept(res, body, encoding, coding, contentType, contentEncoding).catch((err: unknown) => {
        // Decoding errors are answered inside accept; this is a bug, but it must not crash the run.
        logger.warn({ err }, 'otlp receiver: unexpected error while accepting an export')
        send(res, 400, encoding, statusBody(encoding, 400, 'The export could not be processed.'))
      })
    })
    // A sender that hangs up mid-body: nothing to answer.
    req.on('error', () => {})
  }

  const server = createServer(onRequest)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const baseUrl = `http://${hostForUrl}:${address.port}`

  const receiver = {
    /** Base URL, e.g. http://127.0.0.1:4318: what OTEL_EXPORTER_OTLP_ENDPOINT takes. */
    url: baseUrl,
    /** The traces endpoint: what OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and the exporters' `url` take. */
    tracesUrl: baseUrl + path,
    port: address.port,

    /** Every span kept so far, in arrival order (a copy). */
    spans (): Span[] {
      drain()
      return stored.slice()
    },

    /** Forgets all spans and the dropped count; request counters stay. */
    clear (): void {
      stored = []
      pending = []
      held = 0
      emittedUpTo = 0
      stats.spansDropped = 0
    },

    stats (): OtlpReceiverStats {
      return { ...stats, refused: { ...stats.refused }, encodings: { ...stats.encodings }, codings: { ...stats.codings } }
    },

    /** Calls `listener` with each group of newly received spans, after the export was answered. */
    on (event: 'spans', listener: (spans: Span[]) => void): () => void {
      if (event !== 'spans') throw new TypeError(`otlp receiver: unknown event ${String(event)}`)
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },

    /**
     * Resolves once `predicate` holds for all spans received so far, or after `timeoutMs`
     * (default 5000) with `met: false`. For the harness, which must wait for a client's
     * BatchSpanProcessor to flush.
     */
    waitForSpans (predicate: (spans: Span[]) => boolean, { timeoutMs = 5000 }: { timeoutMs?: number } = {}): Promise<WaitForSpansResult> {
      return new Promise(resolve => {
        const now = receiver.spans()
        if (predicate(now)) {
          resolve({ met: true, spans: now })
          return
        }
        const finish = (met: boolean, spans: Span[]) => {
          off()
          clearTimeout(timer)
          resolve({ met, spans })
        }
        const off = receiver.on('spans', () => {
          const all = receiver.spans()
          if (predicate(all)) finish(true, all)
        })
        const timer = setTimeout(() => finish(false, receiver.spans()), timeoutMs)
        timer.unref()
      })
    },

    /** Stops listening, cuts open connections, and waits for forwards under way. */
    async close (): Promise<void> {
      if (closed) return
      closed = true
      await new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await Promise.allSettled([...forwards])
    }
  }
  return receiver
}

export type OtlpReceiver = Awaited<ReturnType<typeof createOtlpReceiver>>
