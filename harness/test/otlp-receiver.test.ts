// The embedded OTLP/HTTP receiver, fed by the real OpenTelemetry exporters over real sockets.
// OTLP spec: https://opentelemetry.io/docs/specs/otlp/#otlphttp
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import type { Link } from '@opentelemetry/api'
import { ExportResultCode } from '@opentelemetry/core'
import type { ExportResult } from '@opentelemetry/core'
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import type { ReadableSpan } from '@opentelemetry/sdk-trace'
import { createOtlpReceiver } from '../src/otlp/receiver.ts'
import type { OtlpReceiver, OtlpReceiverOptions } from '../src/otlp/receiver.ts'
import type { Span } from '../src/otlp/span.ts'
import { ExportTraceServiceRequest, ExportTraceServiceResponse, RpcStatus } from '../src/otlp/proto.ts'

type ExporterConfig = NonNullable<ConstructorParameters<typeof ProtoExporter>[0]>
const GZIP = 'gzip' as ExporterConfig['compression']

const receivers: OtlpReceiver[] = []
async function receiver (options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const r = await createOtlpReceiver(options)
  receivers.push(r)
  return r
}

afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(receivers.splice(0).map(r => r.close()))
})

const START: [number, number] = [1_700_000_000, 123_456_789]
const END: [number, number] = [1_700_000_001, 0]

/**
 * Spans made by the real SDK, covering every kind, parent/child, a link, events, status, and
 * attributes of every type. Made once and exported by each exporter, so both encodings carry
 * the very same spans.
 */
function makeSpans (): { spans: ReadableSpan[], ids: Record<string, { traceId: string, spanId: string }> } {
  const memory = new InMemorySpanExporter()
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'wallet-client', 'service.instance.number': 3 }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })]
  })
  const tracer = provider.getTracer('tenzro-client', '0.1.0')
  const root = tracer.startSpan('checkout', {
    kind: SpanKind.SERVER,
    startTime: START,
    attributes: {
      'str': 'wal_0123456789abcdef',
      'int': 42,
      'negative': -7,
      'double': 2.5,
      'bool': false,
      'strings': ['a', 'b'],
      'ints': [1, 2, 3],
      'doubles': [0.5, 1.5],
      'bools': [true, false],
      'empty': [],
      'with-null': [null, 'a'],
      'bytes': new Uint8Array([0, 1, 255]),
      'map': { limit: 20, nested: { chains: ['solana', 'bitcoin'], ok: true } }
    }
  })
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream refused' })
  const rootCtx = trace.setSpan(context.active(), root)
  const client = tracer.startSpan('GET /api/wallet/list', {
    kind: SpanKind.CLIENT,
    attributes: { 'http.request.method': 'GET', 'http.request.resend_count': 1, 'http.response.status_code': 200 }
  }, rootCtx)
  client.addEvent('retry', { 'retry.after_ms': 1000, 'reason': 'rate_limited' }, [1_700_000_000, 500_000_000])
  client.end()
  const producer = tracer.startSpan('wallet.created publish', { kind: SpanKind.PRODUCER, attributes: { 'messaging.message.id': 'evt_1' } }, rootCtx)
  producer.end()
  const links: Link[] = [{ context: producer.spanContext(), attributes: { 'link.kind': 'publisher' } }]
  const consumer = tracer.startSpan('wallet.created process', { kind: SpanKind.CONSUMER, links, attributes: { 'messaging.message.id': 'evt_1' } })
  consumer.end()
  const internal = tracer.startSpan('hash', { startTime: START }, trace.setSpan(context.active(), consumer))
  internal.setStatus({ code: SpanStatusCode.OK })
  internal.end(END)
  root.end(END)
  const ids = Object.fromEntries([['root', root], ['client', client], ['producer', producer], ['consumer', consumer], ['internal', internal]]
    .map(([name, s]) => [name, (s as typeof root).spanContext()]))
  return { spans: memory.getFinishedSpans(), ids }
}

function exportWith (exporter: ProtoExporter | JsonExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise(resolve => exporter.export(spans, resolve))
}

async function exportVia (kind: 'protobuf' | 'json', url: string, spans: ReadableSpan[], gzip = false): Promise<ExportResult> {
  const config: ExporterConfig = { url, ...(gzip ? { compression: GZIP } : {}) }
  const exporter = kind === 'protobuf' ? new ProtoExporter(config) : new JsonExporter(config)
  try {
    return await exportWith(exporter, spans)
  } finally {
    await exporter.shutdown()
  }
}

function bySpanId (spans: Span[]): Span[] {
  return [...spans].sort((a, b) => a.spanId.localeCompare(b.spanId))
}

interface RawAnswer { status: number, headers: Record<string, string | string[] | undefined>, body: Buffer }

/** A raw HTTP request, for what the exporters never send. */
function send (url: string, { method = 'POST', headers = {}, body, chunks }: { method?: string, headers?: Record<string, string>, body?: Buffer | string, chunks?: Buffer[] } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, res => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (chunks !== undefined) {
      for (const chunk of chunks) req.write(chunk)
      req.end()
    } else {
      req.end(body)
    }
  })
}

function jsonSpan (traceId: string, spanId: string, name: string): Record<string, unknown> {
  return { traceId, spanId, name, kind: 2, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000001000000' }
}

function jsonRequest (spans: unknown[]): string {
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 'raw' }, spans }] }] })
}

const TRACE = '5b8efff798038103d269b633813fc60c'
const SPAN = 'eee19b7ec3c1b174'

describe('OTLP/HTTP receiver with the real exporters', () => {
  it('decodes the same spans from the protobuf and the JSON exporter', async () => {
    const { spans, ids } = makeSpans()
    const proto = await receiver()
    const json = await receiver()
    expect((await exportVia('protobuf', proto.tracesUrl, spans)).code).toBe(ExportResultCode.SUCCESS)
    expect((await exportVia('json', json.tracesUrl, spans)).code).toBe(ExportResultCode.SUCCESS)
    expect(proto.stats().encodings).toEqual({ protobuf: 1, json: 0 })
    expect(json.stats().encodings).toEqual({ protobuf: 0, json: 1 })

    const fromProto = bySpanId(proto.spans())
    const fromJson = bySpanId(json.spans())
    expect(fromProto).toHaveLength(5)
    expect(fromJson).toEqual(fromProto)

    const byName = new Map(fromProto.map(s => [s.name, s]))
    const root = byName.get('checkout') as Span
    expect(root).toMatchObject({
      traceId: ids.root?.traceId,
      spanId: ids.root?.spanId,
      parentSpanId: undefined,
      kind: 'server',
      startTimeUnixNano: 1_700_000_000_123_456_789n,
      endTimeUnixNano: 1_700_000_001_000_000_000n,
      durationMs: 876.543211,
      status: { code: 'error', message: 'upstream refused' },
      resource: { 'service.name': 'wallet-client', 'service.instance.number': 3 },
      scope: { name: 'tenzro-client', version: '0.1.0', attributes: {} }
    })
    expect(root.attributes).toEqual({
      str: 'wal_0123456789abcdef',
      int: 42,
      negative: -7,
      double: 2.5,
      bool: false,
      strings: ['a', 'b'],
      ints: [1, 2, 3],
      doubles: [0.5, 1.5],
      bools: [true, false],
      empty: [],
      'with-null': [null, 'a'],
      bytes: new Uint8Array([0, 1, 255]),
      map: { limit: 20, nested: { chains: ['solana', 'bitcoin'], ok: true } }
    })
    expect(byName.get('GET /api/wallet/list')).toMatchObject({
      kind: 'client',
      traceId: ids.root?.traceId,
      parentSpanId: ids.root?.spanId,
      attributes: { 'http.request.resend_count': 1 },
      events: [{ name: 'retry', timeUnixNano: 1_700_000_000_500_000_000n, attributes: { 'retry.after_ms': 1000, reason: 'rate_limited' } }]
    })
    expect(byName.get('wallet.created publish')?.kind).toBe('producer')
    const consumer = byName.get('wallet.created process') as Span
    expect(consumer.kind).toBe('consumer')
    expect(consumer.parentSpanId).toBeUndefined()
    expect(consumer.traceId).not.toBe(ids.root?.traceId)
    expect(consumer.links).toEqual([{ traceId: ids.producer?.traceId, spanId: ids.producer?.spanId, traceState: undefined, attributes: { 'link.kind': 'publisher' } }])
    expect(byName.get('hash')).toMatchObject({ kind: 'internal', parentSpanId: ids.consumer?.spanId, status: { code: 'ok', message: '' } })
  })

  it('accepts gzip-compressed exports from both exporters and decodes them identically', async () => {
    const { spans } = makeSpans()
    const plain = await receiver()
    const zipped = await receiver()
    await exportVia('protobuf', plain.tracesUrl, spans)
    await exportVia('protobuf', zipped.tracesUrl, spans, true)
    await exportVia('json', zipped.tracesUrl, spans, true)
    expect(zipped.stats().codings).toEqual({ identity: 0, gzip: 2, deflate: 0 })
    const once = bySpanId(plain.spans())
    const twice = bySpanId(zipped.spans())
    expect(twice).toHaveLength(10)
    expect(twice.filter((_, i) => i % 2 === 0)).toEqual(once)
    expect(twice.filter((_, i) => i % 2 === 1)).toEqual(once)
  })

  it('reports the spans it could not keep as a partial success, which the exporter takes as success', async () => {
    const { spans } = makeSpans()
    const r = await receiver({ maxSpans: 3 })
    const result = await exportVia('protobuf', r.tracesUrl, spans)
    expect(result.code).toBe(ExportResultCode.SUCCESS)
    expect(r.spans()).toHaveLength(3)
    expect(r.stats()).toMatchObject({ spansAccepted: 3, spansDropped: 2, spansRejected: 0 })

    r.clear()
    expect(r.spans()).toEqual([])
    await exportVia('json', r.tracesUrl, spans)
    expect(r.spans()).toHaveLength(3)
    expect(r.stats().spansDropped).toBe(2)
  })

  it('keeps thousands of spans from concurrent exports, in full', async () => {
    const { spans } = makeSpans()
    const r = await receiver()
    const batch = Array.from({ length: 40 }, () => spans).flat()
    const exporter = new ProtoExporter({ url: r.tracesUrl, compression: GZIP, concurrencyLimit: 50 })
    const results = await Promise.all(Array.from({ length: 25 }, () => exportWith(exporter, batch)))
    await exporter.shutdown()
    expect(results.every(res => res.code === ExportResultCode.SUCCESS)).toBe(true)
    expect(r.stats()).toMatchObject({ exports: 25, spansAccepted: 5000 })
    expect(r.spans()).toHaveLength(5000)
  })
})

describe('OTLP/HTTP receiver answers', () => {
  it('answers a full success with an empty ExportTraceServiceResponse in the request encoding', async () => {
    const r = await receiver()
    const json = await send(r.tracesUrl, { headers: { 'content-type': 'application/json; charset=utf-8' }, body: jsonRequest([jsonSpan(TRACE, SPAN, 'ok')]) })
    expect(json.status).toBe(200)
    expect(json.headers['content-type']).toBe('application/json')
    expect(JSON.parse(json.body.toString())).toEqual({})

    const proto = await send(r.tracesUrl, {
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from(ExportTraceServiceRequest.encode({}).finish())
    })
    expect(proto.status).toBe(200)
    expect(proto.headers['content-type']).toBe('application/x-protobuf')
    expect(ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(proto.body))).toEqual({})
    expect(r.spans().map(s => s.name)).toEqual(['ok'])
  })

  it('reads OTLP/JSON as the spec writes it: hex ids in any case, int64 as strings, enums by number or name', async () => {
    const r = await receiver()
    const body = JSON.stringify({
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'raw' } }] },
        scopeSpans: [{
          scope: { name: 'raw', version: '1' },
          spans: [{
            traceId: TRACE.toUpperCase(),
            spanId: SPAN.toUpperCase(),
            parentSpanId: '',
            name: 'leaves',
            kind: 'SPAN_KIND_CONSUMER',
            startTimeUnixNano: 1_700_000_000_000_000_000,
            endTimeUnixNano: '1700000000002500000',
            attributes: [
              { key: 'int', value: { intValue: '-9007199254740993' } },
              { key: 'small', value: { intValue: 7 } },
              { key: 'inf', value: { doubleValue: 'Infinity' } },
              { key: 'bytes', value: { bytesValue: 'AAH/' } },
              { key: 'kv', value: { kvlistValue: { values: [{ key: 'a', value: { boolValue: true } }] } } },
              { key: 'empty', value: {} }
            ],
            status: { code: 2, message: 'failed' },
            unknownField: 'ignored'
          }]
        }]
      }]
    })
    const answer = await send(r.tracesUrl, { headers: { 'content-type': 'application/json' }, body })
    expect(answer.status).toBe(200)
    expect(r.spans()).toEqual([expect.objectContaining({
      traceId: TRACE,
      spanId: SPAN,
      parentSpanId: undefined,
      kind: 'consumer',
      startTimeUnixNano: 1_700_000_000_000_000_000n,
      durationMs: 2.5,
      attributes: { int: -9_007_199_254_740_993n, small: 7, inf: Infinity, bytes: new Uint8Array([0, 1, 255]), kv: { a: true }, empty: null },
      status: { code: 'error', message: 'failed' },
      resource: { 'service.name': 'raw' },
      scope: { name: 'raw', version: '1', attributes: {} }
    })])
  })

  it('rejects invalid JSON spans with partial_success and keeps the valid ones', async () => {
    const r = await receiver()
    const answer = await send(r.tracesUrl, {
      headers: { 'content-type': 'application/json' },
      body: jsonRequest([
        jsonSpan(TRACE, SPAN, 'valid'),
        jsonSpan('0102030405', SPAN, 'short trace id'),
        jsonSpan(Buffer.from(TRACE, 'hex').toString('base64'), SPAN, 'base64 trace id'),
        jsonSpan(TRACE, '0000000000000000', 'zero span id'),
        { ...jsonSpan(TRACE, 'aaaaaaaaaaaaaaaa', 'bad time'), startTimeUnixNano: 'yesterday' }
      ])
    })
    expect(answer.status).toBe(200)
    const body = JSON.parse(answer.body.toString()) as { partialSuccess: { rejectedSpans: string, errorMessage: string } }
    expect(body.partialSuccess.rejectedSpans).toBe('4')
    expect(body.partialSuccess.errorMessage).toContain("spans[1] ('short trace id'): traceId \"0102030405\" is not 32 hex chars")
    expect(body.partialSuccess.errorMessage).toContain('looks base64-encoded, but OTLP/JSON sends ids as hex')
    expect(body.partialSuccess.errorMessage).toContain('spanId is all zeroes')
    expect(r.spans().map(s => s.name)).toEqual(['valid'])
    expect(r.stats()).toMatchObject({ spansAccepted: 1, spansRejected: 4 })
  })

  it('rejects protobuf spans with a trace id of the wrong length with partial_success', async () => {
    const r = await receiver()
    const span = (traceId: Buffer, name: string) => ({ traceId, spanId: Buffer.from(SPAN, 'hex'), name, startTimeUnixNano: 1, endTimeUnixNano: 2 })
    const body = Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject({
      resourceSpans: [{ scopeSpans: [{ spans: [span(Buffer.from(TRACE, 'hex'), 'valid'), span(Buffer.alloc(5, 1), 'short')] }] }]
    })).finish())
    const answer = await send(r.tracesUrl, { headers: { 'content-type': 'application/x-protobuf' }, body })
    expect(answer.status).toBe(200)
    const decoded = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(answer.body), { longs: Number }) as { partialSuccess: { rejectedSpans: number, errorMessage: string } }
    expect(decoded.partialSuccess.rejectedSpans).toBe(1)
    expect(decoded.partialSuccess.errorMessage).toContain("('short'): traceId is 5 bytes, expected 16")
    expect(r.spans().map(s => s.name)).toEqual(['valid'])
  })

  it('answers 400 with a google.rpc.Status for malformed protobuf and keeps serving', async () => {
    const r = await receiver()
    // Field 1, length-delimited, claiming far more bytes than follow.
    const answer = await send(r.tracesUrl, { headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from([0x0a, 0xff, 0xff, 0x03, 0x01]) })
    expect(answer.status).toBe(400)
    expect(answer.headers['content-type']).toBe('application/x-protobuf')
    const status = RpcStatus.toObject(RpcStatus.decode(answer.body)) as { code: number, message: string }
    expect(status.code).toBe(3)
    expect(status.message).toMatch(/^The body is not a protobuf ExportTraceServiceRequest/)

    const { spans } = makeSpans()
    expect((await exportVia('protobuf', r.tracesUrl, spans)).code).toBe(ExportResultCode.SUCCESS)
    expect(r.spans()).toHaveLength(5)
    expect(r.stats().refused).toEqual({ 400: 1 })
  })

  it('answers 400 with a JSON Status for malformed JSON or a wrong skeleton, and keeps serving', async () => {
    const r = await receiver()
    const broken = await send(r.tracesUrl, { headers: { 'content-type': 'application/json' }, body: '{"resourceSpans": [' })
    expect(broken.status).toBe(400)
    expect(broken.headers['content-type']).toBe('application/json')
    expect(JSON.parse(broken.body.toString())).toMatchObject({ code: 3, message: expect.stringMatching(/^The body is not valid JSON/) })

    const skeleton = await send(r.tracesUrl, { headers: { 'content-type': 'application/json' }, body: '{"resourceSpans": [{"scopeSpans": 5}]}' })
    expect(skeleton.status).toBe(400)
    expect(JSON.parse(skeleton.body.toString()).message).toContain('resourceSpans[0].scopeSpans must be an array')

    const notObject = await send(r.tracesUrl, { headers: { 'content-type': 'application/json' }, body: '[1, 2]' })
    expect(notObject.status).toBe(400)

    const { spans } = makeSpans()
    expect((await exportVia('json', r.tracesUrl, spans)).code).toBe(ExportResultCode.SUCCESS)
    expect(r.spans()).toHaveLength(5)
  })

  it('answers 400 for a body that is not the gzip its Content-Encoding claims', async () => {
    const r = await receiver()
    const answer = await send(r.tracesUrl, { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: jsonRequest([]) })
    expect(answer.status).toBe(400)
    expect(JSON.parse(answer.body.toString()).message).toMatch(/not valid gzip data/)
  })

  it('accepts deflate in both the zlib and the raw form', async () => {
    const r = await receiver()
    for (const body of [deflateSync(jsonRequest([jsonSpan(TRACE, SPAN, 'zlib')])), deflateRawSync(jsonRequest([jsonSpan(TRACE, 'bbbbbbbbbbbbbbbb', 'raw')]))]) {
      const answer = await send(r.tracesUrl, { headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' }, body })
      expect(answer.status).toBe(200)
    }
    expect(r.spans().map(s => s.name)).toEqual(['zlib', 'raw'])
    expect(r.stats().codings.deflate).toBe(2)
  })

  it('answers 415 for an unsupported Content-Type or Content-Encoding', async () => {
    const r = await receiver()
    const text = await send(r.tracesUrl, { headers: { 'content-type': 'text/plain' }, body: 'spans' })
    expect(text.status).toBe(415)
    expect(JSON.parse(text.body.toString()).message).toMatch(/application\/x-protobuf or application\/json/)
    expect((await send(r.tracesUrl, { body: jsonRequest([]) })).status).toBe(415)
    const brotli = await send(r.tracesUrl, { headers: { 'content-type': 'application/json', 'content-encoding': 'br' }, body: jsonRequest([]) })
    expect(brotli.status).toBe(415)
    expect(r.stats().refused).toEqual({ 415: 3 })
  })

  it('answers 404 on other paths and 405 with Allow on other methods', async () => {
    const r = await receiver()
    const other = await send(r.url + '/v1/metrics', { headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(other.status).toBe(404)
    const get = await send(r.tracesUrl, { method: 'GET' })
    expect(get.status).toBe(405)
    expect(get.headers.allow).toBe('POST')
  })

  it('answers 413 to a body over the limit, declared, streamed, or inflated', async () => {
    const r = await receiver({ maxBodyBytes: 1024 })
    const big = jsonRequest([{ ...jsonSpan(TRACE, SPAN, 'x'.repeat(4000)) }])
    const declared = await send(r.tracesUrl, { headers: { 'content-type': 'application/json' }, body: big })
    expect(declared.status).toBe(413)
    expect(declared.headers.connection).toBe('close')

    const streamed = await send(r.tracesUrl, { headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunks: [Buffer.from(big.slice(0, 900)), Buffer.from(big.slice(900))] })
    expect(streamed.status).toBe(413)

    const bomb = gzipSync(big)
    expect(bomb.length).toBeLessThan(1024)
    const inflated = await send(r.tracesUrl, { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb })
    expect(inflated.status).toBe(413)
    expect(JSON.parse(inflated.body.toString()).message).toMatch(/limit is 1024 bytes/)

    const fits = await send(r.tracesUrl, { headers: { 'content-type': 'application/json' }, body: jsonRequest([jsonSpan(TRACE, SPAN, 'small')]) })
    expect(fits.status).toBe(200)
    expect(r.stats().refused).toEqual({ 413: 3 })
  })
})

describe('OTLP/HTTP receiver forwarding and notification', () => {
  it('forwards each accepted payload unchanged to another collector', async () => {
    const collector = await receiver()
    const r = await receiver({ forwardTo: collector.url })
    const { spans } = makeSpans()
    await exportVia('protobuf', r.tracesUrl, spans, true)
    await exportVia('json', r.tracesUrl, spans)
    const arrived = await collector.waitForSpans(all => all.length === 10)
    expect(arrived.met).toBe(true)
    expect(collector.stats()).toMatchObject({ encodings: { protobuf: 1, json: 1 }, codings: { gzip: 1, identity: 1 } })
    expect(bySpanId(collector.spans())).toEqual(bySpanId(r.spans()))
    await r.close()
    expect(r.stats()).toMatchObject({ forwarded: 2, forwardErrors: 0 })
  })

  it('counts forwarding failures and still answers the exporter', async () => {
    const collector = await receiver()
    const warnings: object[] = []
    const logger = { debug () {}, warn (obj: object) { warnings.push(obj) } }
    const wrongPath = await receiver({ forwardTo: collector.url + '/not-traces', logger })
    const closed = createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>(resolve => closed.close(() => resolve()))
    const unreachable = await receiver({ forwardTo: `http://127.0.0.1:${port}`, logger })

    const { spans } = makeSpans()
    expect((await exportVia('protobuf', wrongPath.tracesUrl, spans)).code).toBe(ExportResultCode.SUCCESS)
    expect((await exportVia('protobuf', unreachable.tracesUrl, spans)).code).toBe(ExportResultCode.SUCCESS)
    await wrongPath.close()
    await unreachable.close()
    expect(wrongPath.stats()).toMatchObject({ forwarded: 0, forwardErrors: 1 })
    expect(unreachable.stats()).toMatchObject({ forwarded: 0, forwardErrors: 1 })
    expect(wrongPath.spans()).toHaveLength(5)
    expect(warnings).toHaveLength(2)
    expect(collector.stats().refused).toEqual({ 404: 1 })
  })

  it('tells listeners about new spans once the export is answered', async () => {
    const r = await receiver()
    const seen: string[][] = []
    const off = r.on('spans', spans => seen.push(spans.map(s => s.name)))
    await send(r.tracesUrl, { headers: { 'content-type': 'application/json' }, body: jsonRequest([jsonSpan(TRACE, SPAN, 'first')]) })
    const waiting = r.waitForSpans(all => all.length === 2)
    await send(r.tracesUrl, { headers: { 'content-type': 'application/json' }, body: jsonRequest([jsonSpan(TRACE, 'bbbbbbbbbbbbbbbb', 'second')]) })
    expect((await waiting).met).toBe(true)
    await vi.waitFor(() => expect(seen.flat()).toEqual(['first', 'second']))
    off()
    await send(r.tracesUrl, { headers: { 'content-type': 'application/json' }, body: jsonRequest([jsonSpan(TRACE, 'cccccccccccccccc', 'third')]) })
    await r.waitForSpans(all => all.length === 3)
    expect(seen.flat()).toEqual(['first', 'second'])
  })

  it('gives up waiting for spans after the timeout, with met false', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const r = await receiver()
    const waiting = r.waitForSpans(all => all.length > 0, { timeoutMs: 2000 })
    await vi.advanceTimersByTimeAsync(2000)
    expect(await waiting).toEqual({ met: false, spans: [] })
  })
})
