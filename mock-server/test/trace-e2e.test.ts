// Issue 7, acceptance: the reference client against the traced mock, both exporting to the embedded
// OTLP receiver, through three logical operations: a wallet list, a wallet list that meets a 429 and
// is retried after Retry-After, and an event stream that is dropped and resumed. The receiver must
// hold one trace per operation with client and server spans parented across the wire (W3C
// traceparent), http.request.resend_count on the retry, CONSUMER spans with messaging.message.id, and
// the mock's stream and producer spans around the deliveries.
//
// The mock's SDK is the real one (telemetry/sdk.ts: NodeSDK from OTEL_* variables, OTLP/HTTP protobuf,
// SERVER spans through its span sink);
// the client has its own provider, as a separate service would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT_CONTEXT, SpanKind, context, trace } from '@opentelemetry/api'
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  createOtlpReceiver, expectAttributes, expectChildOf, expectCount, expectHasChild, expectLinkedTo, indexSpans,
  type OtlpReceiver, type Span, type SpanIndex, type TraceCheckResult
} from '../../harness/src/otlp/index.ts'
import { createTenzroClient, type TenzroEvent } from '../../harness/src/client/index.ts'
import { startTracing, type MockTracing } from '../src/telemetry/sdk.ts'
import * as N from '../src/telemetry/names.ts'
import { control, QUIET, startMock, type TestMock } from './helper.ts'

const MOCK_SERVICE = 'tenzro-mock-e2e'
const CLIENT_SERVICE = 'tenzro-client-e2e'

let receiver: OtlpReceiver
let tracing: MockTracing
let m: TestMock
let clientProvider: TracerProvider
const savedEnv = { ...process.env }

beforeAll(async () => {
  receiver = await createOtlpReceiver()
  // What an operator would set; NodeSDK reads process.env and nothing else.
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_SERVICE_NAME: MOCK_SERVICE,
    OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    OTEL_BSP_SCHEDULE_DELAY: '20'
  })
  tracing = await startTracing()
  // SERVER spans through the span sink, as `tenzro-mock` makes them with this configuration.
  expect(tracing.fast).toBeDefined()
  m = await startMock(QUIET, { tracer: tracing.tracer, fast: tracing.fast })
  clientProvider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': CLIENT_SERVICE }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: receiver.tracesUrl }), scheduledDelayMillis: 20 })]
  })
})

afterAll(async () => {
  await m?.close()
  await tracing?.shutdown()
  await clientProvider?.shutdown()
  await receiver?.close()
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k]
  Object.assign(process.env, savedEnv)
})

/** The client's clock: sleeping moves it, so Retry-After and reconnection delays cost no real time. */
function fakeClock () {
  let t = Date.now()
  return {
    now: () => t,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted === true) throw signal.reason
      t += ms
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
}

async function waitFor (what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function pass (r: TraceCheckResult): void {
  expect(r.status, `${r.summary}\n${JSON.stringify(r.evidence, null, 2)}`).toBe('pass')
}

const fromMock = (s: Span) => s.resource['service.name'] === MOCK_SERVICE
const fromClient = (s: Span) => s.resource['service.name'] === CLIENT_SERVICE

describe('traces across client and mock', () => {
  it('holds one trace per operation, parented across the wire, with the retry and the resume visible', async () => {
    const clock = fakeClock()
    const k = m.keys.acme
    const client = createTenzroClient({ baseUrl: m.url, apiKey: k.key, tenantId: k.tenantId, tracer: clientProvider.getTracer('tenzro-client'), now: clock.now, sleep: clock.sleep })
    const clientTracer = clientProvider.getTracer('e2e')

    // 1. A wallet list.
    await client.wallets.list({ limit: 5 })

    // 2. A wallet list that meets a 429 (contract 5.3) and is retried after its Retry-After; and, for 3,
    //    the next event stream is cut after two events (7.2 sse-drop).
    const plan = await control(m, 'PUT', '/__harness/faults', {
      faults: [
        { id: 'one-429', type: 'rate-limit-burst', retryAfterS: 1, times: 1, scope: { route: 'GET /api/wallet/list' } },
        { id: 'cut-stream', type: 'sse-drop', afterEvents: 2, times: 1, scope: { route: 'GET /api/events/stream' } }
      ]
    })
    expect(plan.status).toBe(200)
    await client.wallets.list({ limit: 5 })

    // 3. An event stream, dropped after two events and resumed with Last-Event-ID (contract 4.2, 4.4).
    const ac = new AbortController()
    const handled: TenzroEvent[] = []
    const op = clientTracer.startSpan('consume wallet events', { kind: SpanKind.INTERNAL }, ROOT_CONTEXT)
    const consuming = context.with(trace.setSpan(ROOT_CONTEXT, op), () => client.events.consume({
      signal: ac.signal,
      handler: (e) => {
        handled.push(e)
        if (handled.length === 3) ac.abort()
      }
    }))
    const opened = () => [...m.app.mock.record.after()].filter((e) => e.type === 'stream' && e.phase === 'open').length
    await waitFor('the first stream to open', () => opened() >= 1)
    for (let i = 1; i <= 3; i++) {
      const r = await control(m, 'POST', '/__harness/events', { tenant: 'acme', type: 'wallet.created', data: { n: i } })
      expect(r.status).toBe(201)
    }
    const result = await consuming
    op.end()
    expect(handled.map((e) => e.id)).toEqual(['1', '2', '3'])
    expect(result.reconnects).toBe(1)

    // Both sides flush; the stream spans end when their responses close.
    await waitFor('both streams to close', () => [...m.app.mock.record.after()].filter((e) => e.type === 'stream' && e.phase === 'close').length >= 2)
    let spans: Span[]
    const deadline = Date.now() + 5000
    for (;;) {
      await Promise.all([tracing.forceFlush(), clientProvider.forceFlush()])
      spans = receiver.spans()
      const streams = spans.filter((s) => s.name === N.SPAN_SSE_STREAM).length
      const consumers = spans.filter((s) => s.kind === 'consumer').length
      if ((streams >= 2 && consumers >= 3) || Date.now() > deadline) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const all: SpanIndex = indexSpans(spans)
    expect(receiver.stats().encodings.protobuf).toBeGreaterThan(0)

    // Every request the client sent has the mock's SERVER span as its child.
    pass(expectHasChild(all, { kind: 'client', where: fromClient }, { kind: 'server', where: fromMock }))

    const lists = all.select({ name: 'tenzro wallets.list', kind: 'internal' })
    expect(lists).toHaveLength(2)
    const [first, retried] = lists.sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1)) as [Span, Span]

    // 1: one trace: INTERNAL -> CLIENT -> SERVER.
    const t1 = all.spansOf(first.traceId)
    expect(t1.map((s) => `${s.kind} ${s.name}`).sort()).toEqual(['client GET /api/wallet/list', 'internal tenzro wallets.list', 'server GET /api/wallet/list'])
    pass(expectChildOf(t1, { kind: 'client' }, { kind: 'internal', name: 'tenzro wallets.list' }))
    pass(expectChildOf(t1, { kind: 'server' }, { kind: 'client' }))
    pass(expectAttributes(t1, { kind: 'server' }, { [N.ATTR_HTTP_RESPONSE_STATUS_CODE]: 200, [N.ATTR_TENZRO_KEY_ID]: k.id, [N.ATTR_TENZRO_TENANT_ID]: k.tenantId }))

    // 2: one trace: two attempts under the INTERNAL span, the second a resend, each with its SERVER span.
    const t2 = all.spansOf(retried.traceId)
    const attempts = t2.filter((s) => s.kind === 'client').sort((a, b) => Number(a.attributes['http.request.resend_count'] ?? 0) - Number(b.attributes['http.request.resend_count'] ?? 0))
    expect(attempts.map((s) => s.attributes[N.ATTR_HTTP_RESPONSE_STATUS_CODE])).toEqual([429, 200])
    expect(attempts[0]!.attributes['http.request.resend_count']).toBeUndefined()
    expect(attempts[1]!.attributes['http.request.resend_count']).toBe(1)
    pass(expectChildOf(t2, { kind: 'client' }, { name: 'tenzro wallets.list', kind: 'internal' }))
    for (const attempt of attempts) {
      const [server] = all.childrenOf(attempt)
      expect(server?.kind).toBe('server')
      expect(server?.attributes[N.ATTR_HTTP_RESPONSE_STATUS_CODE]).toBe(attempt.attributes[N.ATTR_HTTP_RESPONSE_STATUS_CODE])
    }
    pass(expectAttributes(t2, { kind: 'server', attributes: { [N.ATTR_HTTP_RESPONSE_STATUS_CODE]: 429 } }, {
      [N.ATTR_TENZRO_RATELIMIT_ALLOWED]: false,
      [N.ATTR_TENZRO_ERROR_CODE]: 'rate_limited',
      [N.ATTR_TENZRO_FAULT]: (v) => Array.isArray(v) && v.includes('one-429')
    }))

    // 3: one trace: the consumer's operation, its two connections, their SERVER spans and stream spans.
    const t3 = all.spansOf(op.spanContext().traceId)
    const connections = t3.filter((s) => s.kind === 'client')
    expect(connections).toHaveLength(2)
    pass(expectChildOf(t3, { kind: 'client' }, { name: 'consume wallet events' }))
    pass(expectChildOf(t3, { kind: 'server' }, { kind: 'client', name: 'GET /api/events/stream' }))
    pass(expectChildOf(t3, { name: N.SPAN_SSE_STREAM }, { kind: 'server', name: 'GET /api/events/stream' }))
    const streams = t3.filter((s) => s.name === N.SPAN_SSE_STREAM).sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1))
    expect(streams).toHaveLength(2)
    const events = (s: Span) => s.events.map((e) => `${e.name} ${String(e.attributes[N.ATTR_MESSAGING_MESSAGE_ID] ?? '')}`.trim())
    expect(events(streams[0]!)).toEqual(['tenzro.sse.frame 1', 'tenzro.sse.frame 2', 'tenzro.sse.drop 2'])
    expect(streams[0]!.attributes[N.ATTR_TENZRO_FAULT]).toEqual(['cut-stream'])
    expect(streams[0]!.attributes[N.ATTR_TENZRO_STREAM_CLOSE_REASON]).toBe('fault')
    expect(events(streams[1]!)).toEqual(['tenzro.sse.resume', 'tenzro.sse.frame 3'])
    expect(streams[1]!.attributes[N.ATTR_TENZRO_STREAM_LAST_EVENT_ID]).toBe(2)

    // The events: a PRODUCER span each on the mock, linked from the stream that delivered it; a
    // CONSUMER span each on the client, with messaging.message.id, linked to the connection it came on.
    pass(expectCount(all, { kind: 'producer', name: 'publish wallet.created', where: fromMock }, { exactly: 3 }))
    pass(expectAttributes(all, { kind: 'producer' }, { [N.ATTR_MESSAGING_MESSAGE_ID]: { oneOf: ['1', '2', '3'] }, [N.ATTR_MESSAGING_DESTINATION_NAME]: 'wallet.created' }))
    pass(expectLinkedTo(all, { name: N.SPAN_SSE_STREAM }, { kind: 'producer' }))
    const consumers = all.select({ kind: 'consumer', where: fromClient })
    expect(consumers.map((s) => s.attributes[N.ATTR_MESSAGING_MESSAGE_ID]).sort()).toEqual(['1', '2', '3'])
    pass(expectLinkedTo(all, { kind: 'consumer' }, { kind: 'client', name: 'GET /api/events/stream' }))
    for (const c of consumers) {
      const producer = all.select({ kind: 'producer', attributes: { [N.ATTR_MESSAGING_MESSAGE_ID]: c.attributes[N.ATTR_MESSAGING_MESSAGE_ID] as string } })
      expect(producer).toHaveLength(1)
    }

    // Three operations, three traces, none shared.
    expect(new Set([first.traceId, retried.traceId, op.spanContext().traceId]).size).toBe(3)
    // The record joins the request entries to these traces (contract 7.3).
    const recorded = new Set([...m.app.mock.record.after()].filter((e) => e.type === 'request').map((e) => e.traceId))
    for (const id of [first.traceId, retried.traceId, op.spanContext().traceId]) expect(recorded.has(id)).toBe(true)
  })
})
