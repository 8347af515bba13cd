// The span sink (telemetry/span-sink.ts, server-spans-fast.ts, span-worker.ts): SERVER spans written
// on the request path into batch buffers, encoded and exported by a worker thread with the stock
// OTLP/HTTP transport. Nothing is dropped silently: a span that finds every buffer out is counted, so
// is a batch the exporter gave up on, and /metrics shows both.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { AlwaysOnSampler, ParentBasedSampler } from '@opentelemetry/sdk-trace'
import { TracerProvider } from '@opentelemetry/sdk-trace'
import type { FastifyRequest } from 'fastify'
import { createOtlpReceiver, type OtlpReceiver } from '../../harness/src/otlp/index.ts'
import { SpanSink, type SpanSinkOptions } from '../src/telemetry/span-sink.ts'
import { createFastServerSpans } from '../src/telemetry/server-spans-fast.ts'
import * as N from '../src/telemetry/names.ts'
import { QUIET, startMock } from './helper.ts'

const closing: Array<() => Promise<unknown>> = []
afterEach(async () => { for (const c of closing.splice(0).reverse()) await c() })

function sinkFor (url: string, opts: Partial<SpanSinkOptions> = {}): SpanSink {
  const sink = new SpanSink({
    resource: { attributes: { 'service.name': 'span-sink-test' } },
    scope: { name: N.TRACER_NAME, version: N.TRACER_VERSION },
    attributeCountLimit: 128,
    attributeValueLengthLimit: Infinity,
    hrOffsetNs: '1796428000000000000',
    exporter: { url },
    maxQueueSize: 2048,
    maxExportBatchSize: 512,
    scheduledDelayMillis: 10_000,
    ...opts
  })
  closing.push(() => sink.shutdown())
  return sink
}

async function receiver (): Promise<OtlpReceiver> {
  const r = await createOtlpReceiver()
  closing.push(() => r.close())
  return r
}

/** What the fast path reads of a Fastify request, for a request that authenticated as tenant `t`. */
function fakeRequest (n: number): FastifyRequest {
  return {
    method: 'GET',
    headers: { host: 'localhost:3000', 'user-agent': 'sink-test' },
    raw: { url: n % 2 === 0 ? '/api/wallet/list' : '/api/wallet/list?limit=5' },
    routeOptions: { url: '/api/wallet/list' },
    protocol: 'http',
    ip: '127.0.0.1',
    tenzroSpan: null,
    state: {
      startNs: process.hrtime.bigint(),
      route: '/api/wallet/list',
      auth: { tenantId: 'tnt_test', keyId: 'key_0123456789abcdef' },
      rateLimit: { allowed: true, remaining: 41 },
      faults: undefined,
      errorCode: undefined,
      authCode: undefined,
      keyRef: undefined,
      traceId: undefined
    }
  } as unknown as FastifyRequest
}

const sampler = new ParentBasedSampler({ root: new AlwaysOnSampler() })

describe('span sink', () => {
  it('exports every span it queued, with the request\'s attributes, and gives the record its trace id', async () => {
    const r = await receiver()
    const sink = sinkFor(r.tracesUrl, { maxExportBatchSize: 4 })
    const spans = createFastServerSpans(sink, sampler)
    const requests = Array.from({ length: 10 }, (_, n) => fakeRequest(n))
    for (const req of requests) spans.end(req, 200)
    await sink.forceFlush()
    expect(sink.stats()).toEqual({ queued: 10, dropped: 0, exported: 10, failed: 0 })
    const got = r.spans()
    expect(got.map((s) => s.traceId).sort()).toEqual(requests.map((q) => q.state.traceId).sort())
    expect(new Set(got.map((s) => s.spanId)).size).toBe(10)
    expect(got[1]).toMatchObject({ name: 'GET /api/wallet/list', kind: 'server', parentSpanId: undefined })
    expect(got[1]!.attributes).toMatchObject({
      [N.ATTR_URL_PATH]: '/api/wallet/list',
      [N.ATTR_URL_QUERY]: 'limit=5',
      [N.ATTR_SERVER_ADDRESS]: 'localhost',
      [N.ATTR_SERVER_PORT]: 3000,
      [N.ATTR_TENZRO_TENANT_ID]: 'tnt_test',
      [N.ATTR_TENZRO_KEY_ID]: 'key_0123456789abcdef',
      [N.ATTR_TENZRO_RATELIMIT_ALLOWED]: true,
      [N.ATTR_TENZRO_RATELIMIT_REMAINING]: 41
    })
    // Dated by the request's start and the response's end.
    expect(got[0]!.endTimeUnixNano).toBeGreaterThanOrEqual(got[0]!.startTimeUnixNano)
  })

  it('counts the spans it drops when every batch buffer is out, and takes spans again once they are back', async () => {
    const r = await receiver()
    // Two buffers of two slots: a third full batch in the same turn finds none free.
    const sink = sinkFor(r.tracesUrl, { maxQueueSize: 4, maxExportBatchSize: 2 })
    const spans = createFastServerSpans(sink, sampler)
    const first = Array.from({ length: 6 }, (_, n) => fakeRequest(n))
    for (const req of first) spans.end(req, 200)
    expect(sink.stats()).toMatchObject({ queued: 4, dropped: 2 })
    // A dropped span still gave the record its trace id: the record is never short of one.
    expect(first.every((q) => typeof q.state.traceId === 'string' && q.state.traceId.length === 32)).toBe(true)
    await sink.forceFlush()
    for (const req of Array.from({ length: 2 }, (_, n) => fakeRequest(n))) spans.end(req, 200)
    await sink.forceFlush()
    expect(sink.stats()).toEqual({ queued: 6, dropped: 2, exported: 6, failed: 0 })
    expect(r.spans()).toHaveLength(6)
  })

  it('counts the spans of an export the collector refused', async () => {
    const refusing: Server = createServer((_req, res) => { res.writeHead(400).end() })
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve))
    closing.push(() => new Promise((resolve) => refusing.close(resolve)))
    const sink = sinkFor(`http://127.0.0.1:${(refusing.address() as AddressInfo).port}/v1/traces`)
    const spans = createFastServerSpans(sink, sampler)
    for (let n = 0; n < 3; n++) spans.end(fakeRequest(n), 200)
    await sink.forceFlush()
    expect(sink.stats()).toEqual({ queued: 3, dropped: 0, exported: 0, failed: 3 })
  })

  it('adds one hook to the request path: the span starts lazily, at the response', async () => {
    const r = await receiver()
    const m = await startMock(QUIET, { tracer: new TracerProvider().getTracer('t'), fast: { sink: sinkFor(r.tracesUrl), sampler } })
    closing.push(() => m.close())
    const hooks = m.app.printRoutes({ includeHooks: true, commonPrefix: false })
    expect(hooks).not.toMatch(/startServerSpan/)
    expect(hooks).toMatch(/endServerSpan/)
  })

  it('shows the counts on /metrics', async () => {
    const r = await receiver()
    const sink = sinkFor(r.tracesUrl, { maxQueueSize: 2, maxExportBatchSize: 1 })
    const fast = { sink, sampler }
    const fakeSpans = createFastServerSpans(sink, sampler)
    for (let n = 0; n < 5; n++) fakeSpans.end(fakeRequest(n), 200)
    await sink.forceFlush()
    const m = await startMock(QUIET, { tracer: new TracerProvider().getTracer('t'), fast })
    closing.push(() => m.close())
    const text = await (await fetch(`${m.url}/metrics`)).text()
    expect(text).toContain('tenzro_mock_trace_spans_total{outcome="queued"} 2')
    expect(text).toContain('tenzro_mock_trace_spans_total{outcome="dropped"} 3')
    expect(text).toContain('tenzro_mock_trace_spans_total{outcome="exported"} 2')
    expect(text).toContain('tenzro_mock_trace_spans_total{outcome="failed"} 0')
  })
})
