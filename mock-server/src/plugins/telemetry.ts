// Traces of the mock: a SERVER span per request that continues the caller's W3C
// traceparent, a span per SSE stream with an event per frame, gap, drop, resume and fault, and a
// PRODUCER span per published event, linked from the streams that deliver it. The SERVER span of an
// event stream ends with its 200, as the client's connection span does; the stream span, its child,
// lasts until the connection closes.
//
// Spans are made here with @opentelemetry/api, the SERVER span by telemetry/server-spans*.ts: through
// the SDK's tracer, or, when telemetry/sdk.ts gave a span sink, as a fixed-size slot that a worker
// thread encodes and exports (one onResponse hook; the span starts lazily). The SDK is built in
// telemetry/sdk.ts, and only when OTEL_* configures it. Without a tracer this plugin adds no hook and
// no request decorator: the request path is exactly the untraced one (configure once, run cheap,
// house style principle 2). Generic HTTP instrumentation (instrumentation-http, @fastify/otel) was
// measured at 0.35-0.48 and 0.27-0.34 of bare Fastify's throughput, which is why it is not used.
//
// No secret reaches a span (house style principle 6): headers are never captured; url.path,
// url.query, user_agent.original, server.address, tracestate, subjects and fault labels are redacted
// when they could hold a key, raw or encoded; tenants and keys appear as ids only.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api'
import type { EventLog, StoredEvent } from '../domain/event-log/types.ts'
import type { RecordEntryType } from '../domain/record.ts'
import * as N from '../telemetry/names.ts'
import { looksSecret } from '../pipeline/index.ts'
import { redactPath, redactQuery, safeName } from '../telemetry/redact.ts'
import { extractContext } from '../telemetry/trace-context.ts'
import { createStreamLinks, type OpenStream } from '../telemetry/links.ts'
import { createSdkServerSpans, type ServerSpans } from '../telemetry/server-spans.ts'
import { createFastServerSpans, type FastServerSpan, type SpanSampler } from '../telemetry/server-spans-fast.ts'
import type { SpanSink, SpanSinkStats } from '../telemetry/span-sink.ts'

export { extractContext, looksSecret, redactPath, redactQuery, safeName }

/** The record function an SSE stream writes its entries through (domain/record.ts append). */
export type StreamRecordFn = (type: RecordEntryType, fields: Record<string, unknown>) => void

export interface StreamInfo {
  streamId: string
  /** The id the stream resumes after (contract 4.2), if any. */
  lastEventId?: number | undefined
  /** The subject patterns asked for (contract 4.2); empty or absent means all. */
  subjects?: readonly string[] | undefined
  /** Labels of the SSE faults decided for this stream (contract 7.2). */
  faults?: readonly string[] | undefined
}

export interface MockTelemetry {
  /** True when a tracer was given: spans are being made. */
  readonly enabled: boolean
  /**
   * Wrap the record function the SSE streams write through, once, where the route builds its shared
   * stream context. Entries of a traced stream (matched by `streamId`) become events on its span:
   * frames (linked to their PRODUCER span), gaps, drops, faults and resumes; its `phase: 'close'` entry
   * ends the span. Without tracing it returns `record` itself.
   */
  recorder (record: StreamRecordFn): StreamRecordFn
  /**
   * Call once an SSE stream has written its 200 (contract 4), before its first record entry: ends the
   * request's SERVER span and starts the stream's span as its child. Without tracing it does nothing.
   */
  stream (request: FastifyRequest, info: StreamInfo): void
  /**
   * `log.publish(tenantId, subject, data)` inside a PRODUCER span (child of `request`'s SERVER span
   * when given). Streams that deliver the event link to this span. Without tracing it is the bare call.
   */
  publish (log: EventLog, tenantId: string, subject: string, data: unknown, request?: FastifyRequest): Promise<StoredEvent>
  /** The span sink's counts (SERVER spans queued, dropped, exported, failed); zeros without one. */
  spanStats (): SpanSinkStats
}

/** SERVER spans through a span sink (telemetry/sdk.ts), decided by the SDK's sampler. */
export interface FastSpans {
  sink: SpanSink
  sampler: SpanSampler
}

export interface TelemetryOptions {
  /** The mock's tracer (telemetry/sdk.ts). Absent: tracing is off and the plugin adds nothing per request. */
  tracer?: Tracer | undefined
  /** SERVER spans through this sink instead of the tracer (the stream and PRODUCER spans stay on the tracer). */
  fast?: FastSpans | undefined
  /** Producer span contexts kept for links from deliveries. Default 10 000. */
  maxProducers?: number
  /**
   * Test switch (config.unsafeDisableRedaction): capture every request header and the raw URL, so the
   * canary test can prove it would find a key that reached a span. Never in production.
   */
  unsafeDisableRedaction?: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    telemetry: MockTelemetry
  }
  interface FastifyRequest {
    /** The request's SERVER span while it is open (only decorated when tracing is on). */
    tenzroSpan: Span | FastServerSpan | null
  }
}

const OFF: MockTelemetry = Object.freeze({
  enabled: false,
  recorder (record: StreamRecordFn) { return record },
  stream () {},
  publish (log: EventLog, tenantId: string, subject: string, data: unknown) { return log.publish(tenantId, subject, data) },
  spanStats: noSpanStats
})

function noSpanStats (): SpanSinkStats {
  return { queued: 0, dropped: 0, exported: 0, failed: 0 }
}

// ---- the plugin ------------------------------------------------------------------------------------

export default fp(async function telemetry (app: FastifyInstance, opts: TelemetryOptions) {
  if (opts.tracer === undefined) {
    app.decorate('telemetry', OFF)
    return
  }
  const tracer: Tracer = opts.tracer
  const maxProducers = opts.maxProducers ?? 10_000
  // The sink when given (it makes the same spans for a fraction of the cost); the SDK when not, or
  // when redaction is off (a test switch whose header capture only the SDK path implements).
  const fast = opts.fast !== undefined && opts.unsafeDisableRedaction !== true ? opts.fast : undefined
  const spans: ServerSpans = fast === undefined
    ? createSdkServerSpans(tracer, opts.unsafeDisableRedaction === true)
    : createFastServerSpans(fast.sink, fast.sampler)

  app.decorateRequest('tenzroSpan', null)

  const start = spans.start
  if (start !== undefined) {
    app.addHook('onRequest', function startServerSpan (request, _reply, done) {
      start(request)
      done()
    })
  }

  app.addHook('onResponse', function endServerSpan (request: FastifyRequest, reply: FastifyReply, done) {
    spans.end(request, reply.statusCode)
    done()
  })

  // ---- producers and links -------------------------------------------------------------------------

  const { remember, link, resolveLinks } = createStreamLinks(maxProducers)

  // Published subjects are few (contract 4.5) but chosen by whoever publishes: checked once each.
  const subjects = new Map<string, string>()
  function subjectName (subject: string): string {
    let n = subjects.get(subject)
    if (n === undefined) {
      n = safeName(subject)
      if (subjects.size < 1000) subjects.set(subject, n)
    }
    return n
  }

  async function publish (log: EventLog, tenantId: string, subject: string, data: unknown, request?: FastifyRequest): Promise<StoredEvent> {
    const parent = request === undefined ? ROOT_CONTEXT : spans.parent(request)
    const name = subjectName(subject)
    const span = tracer.startSpan(N.MESSAGING_OPERATION_PUBLISH + ' ' + name, {
      kind: SpanKind.PRODUCER,
      attributes: {
        [N.ATTR_MESSAGING_SYSTEM]: N.MESSAGING_SYSTEM,
        [N.ATTR_MESSAGING_OPERATION_TYPE]: N.MESSAGING_OPERATION_SEND,
        [N.ATTR_MESSAGING_OPERATION_NAME]: N.MESSAGING_OPERATION_PUBLISH,
        [N.ATTR_MESSAGING_DESTINATION_NAME]: name,
        [N.ATTR_TENZRO_TENANT_ID]: tenantId
      }
    }, parent)
    try {
      const e = await log.publish(tenantId, subject, data)
      span.setAttribute(N.ATTR_MESSAGING_MESSAGE_ID, String(e.seq))
      if (span.isRecording()) remember(tenantId, e.seq, span.spanContext())
      return e
    } catch (err) {
      span.setAttribute(N.ATTR_ERROR_TYPE, err instanceof Error ? err.name : 'Error')
      span.setStatus({ code: SpanStatusCode.ERROR })
      throw err
    } finally {
      span.end()
    }
  }

  // ---- SSE streams ---------------------------------------------------------------------------------

  const streams = new Map<string, OpenStream>()

  function stream (request: FastifyRequest, info: StreamInfo): void {
    const parent = spans.endForStream(request)
    if (parent === undefined) return
    const span = tracer.startSpan(N.SPAN_SSE_STREAM, { kind: SpanKind.INTERNAL }, parent)
    if (!span.isRecording()) {
      span.end()
      return
    }
    const auth = request.state?.auth
    if (auth !== undefined) {
      span.setAttribute(N.ATTR_TENZRO_TENANT_ID, auth.tenantId)
      span.setAttribute(N.ATTR_TENZRO_KEY_ID, auth.keyId)
    }
    span.setAttribute(N.ATTR_TENZRO_STREAM_ID, info.streamId)
    if (info.lastEventId !== undefined) span.setAttribute(N.ATTR_TENZRO_STREAM_LAST_EVENT_ID, info.lastEventId)
    // Subject patterns are the client's words (contract 4.2): a key pasted there is a key still.
    if (info.subjects !== undefined && info.subjects.length > 0) span.setAttribute(N.ATTR_TENZRO_STREAM_SUBJECTS, info.subjects.map(safeName))
    if (info.faults !== undefined && info.faults.length > 0) span.setAttribute(N.ATTR_TENZRO_FAULT, info.faults.map(safeName))
    streams.set(info.streamId, { span, unresolved: [] })
  }


  /** One record entry of a traced stream, as a span event (or the span's end). */
  function onStreamEntry (s: OpenStream, streamId: string, type: RecordEntryType, fields: Record<string, unknown>): void {
    const span = s.span
    switch (type) {
      case 'frame': {
        resolveLinks(s)
        if (fields.event === 'stream.gap') {
          span.addEvent(N.EVENT_SSE_GAP, { [N.ATTR_TENZRO_SSE_GAP_FROM]: fields.from as number, [N.ATTR_TENZRO_SSE_GAP_TO]: fields.to as number })
          break
        }
        const id = fields.id as number
        span.addEvent(N.EVENT_SSE_FRAME, {
          [N.ATTR_MESSAGING_MESSAGE_ID]: String(id),
          [N.ATTR_MESSAGING_DESTINATION_NAME]: subjectName(String(fields.event)),
          [N.ATTR_TENZRO_SSE_REPLAY]: fields.replay === true,
          [N.ATTR_TENZRO_SSE_DUPLICATE]: fields.duplicate === true
        })
        if (typeof fields.tenant === 'string') link(s, fields.tenant + ':' + id)
        break
      }
      case 'drop': {
        const attrs: Attributes = { [N.ATTR_TENZRO_SSE_DROP_REASON]: String(fields.reason) }
        if (typeof fields.where === 'string') attrs[N.ATTR_TENZRO_SSE_DROP_WHERE] = fields.where
        if (typeof fields.lastId === 'number') attrs[N.ATTR_MESSAGING_MESSAGE_ID] = String(fields.lastId)
        if (Array.isArray(fields.labels)) attrs[N.ATTR_TENZRO_FAULT] = (fields.labels as unknown[]).map((l) => safeName(String(l)))
        span.addEvent(N.EVENT_SSE_DROP, attrs)
        break
      }
      case 'resume': {
        const attrs: Attributes = {}
        if (typeof fields.lastEventId === 'number') attrs[N.ATTR_TENZRO_STREAM_LAST_EVENT_ID] = fields.lastEventId
        if (typeof fields.from === 'number') attrs[N.ATTR_TENZRO_SSE_RESUME_FROM] = fields.from
        if (typeof fields.via === 'string') attrs[N.ATTR_TENZRO_SSE_RESUME_VIA] = fields.via
        span.addEvent(N.EVENT_SSE_RESUME, attrs)
        break
      }
      case 'fault': {
        const attrs: Attributes = { [N.ATTR_TENZRO_FAULT]: String(fields.fault) }
        if (typeof fields.phase === 'string') attrs[N.ATTR_TENZRO_FAULT_PHASE] = fields.phase
        span.addEvent(N.EVENT_SSE_FAULT, attrs)
        break
      }
      case 'stream': {
        if (fields.phase !== 'close') break
        streams.delete(streamId)
        resolveLinks(s)
        const reason = String(fields.reason)
        span.setAttribute(N.ATTR_TENZRO_STREAM_CLOSE_REASON, reason)
        if (typeof fields.events === 'number') span.setAttribute(N.ATTR_TENZRO_STREAM_EVENTS, fields.events)
        if (typeof fields.heartbeats === 'number') span.setAttribute(N.ATTR_TENZRO_STREAM_HEARTBEATS, fields.heartbeats)
        if (reason === 'backend-error') {
          span.setAttribute(N.ATTR_ERROR_TYPE, reason)
          span.setStatus({ code: SpanStatusCode.ERROR })
        }
        span.end()
        break
      }
    }
  }

  function recorder (record: StreamRecordFn): StreamRecordFn {
    return function tracedRecord (type: RecordEntryType, fields: Record<string, unknown>): void {
      // Read before record(): it may take fields over.
      const streamId = fields.streamId
      const s = typeof streamId === 'string' && streams.size > 0 ? streams.get(streamId) : undefined
      record(type, fields)
      if (s !== undefined) onStreamEntry(s, streamId as string, type, fields)
    }
  }

  // Streams still open when the app closes end with it.
  app.addHook('onClose', async function endStreamSpans () {
    for (const s of streams.values()) {
      resolveLinks(s)
      s.span.setAttribute(N.ATTR_TENZRO_STREAM_CLOSE_REASON, 'shutdown')
      s.span.end()
    }
    streams.clear()
  })

  const spanStats = fast === undefined ? noSpanStats : () => fast.sink.stats()
  app.decorate('telemetry', { enabled: true, recorder, stream, publish, spanStats } satisfies MockTelemetry)
}, { name: 'mock-telemetry' })
