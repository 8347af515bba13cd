// The span sink's OTLP encoder (telemetry/otlp-encode.ts) against the SDK's own serialiser: the same
// SERVER span, written as slots and as an SDK ReadableSpan, must decode (protobufjs, with the OTLP
// proto files) to the same ExportTraceServiceRequest, field for field. Also: references shared
// across batches, batch-local values, attribute limits, and a span the harness's receiver accepts.
import { describe, expect, it } from 'vitest'
import { SpanKind, SpanStatusCode, type Attributes, type HrTime } from '@opentelemetry/api'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { ExportTraceServiceRequest } from '../../harness/src/otlp/proto.ts'
import { createOtlpReceiver } from '../../harness/src/otlp/index.ts'
import { createServerSpanEncoder } from '../src/telemetry/otlp-encode.ts'
import * as L from '../src/telemetry/span-layout.ts'
import * as N from '../src/telemetry/names.ts'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const SPAN = '00f067aa0ba902b7'
const PARENT = 'b7ad6b7169203331'
const RESOURCE = { 'service.name': 'tenzro-mock-test', 'host.name': 'h1', 'process.pid': 4242, 'telemetry.sdk.language': 'nodejs', 'x.ratio': 0.5, 'x.flag': true, 'x.list': ['a', 'b'] }
const SCOPE = { name: N.TRACER_NAME, version: N.TRACER_VERSION }
// 2026-12-05T00:00:00.123456789Z as hrtime ns + offset: a start the encoder must write to the ns.
const OFFSET = 1_796_428_000_000_000_000n
const START_HR = 123_456_789
const END_HR = 124_000_001

interface SlotSpec {
  parent?: boolean
  traceState?: string
  status: number
  refs: Partial<Record<'I_NAME' | 'I_METHOD' | 'I_METHOD_ORIGINAL' | 'I_PATH' | 'I_QUERY' | 'I_SCHEME' | 'I_ROUTE' | 'I_ADDRESS' | 'I_CLIENT' | 'I_USER_AGENT' | 'I_TENANT' | 'I_KEY_ID' | 'I_FAULTS' | 'I_ERROR_CODE', number>>
  port?: number
  allowed?: -1 | 0 | 1
  remaining?: number
}

/** Slots as span-sink.ts fills them (server-spans-fast.ts does this on the request path). */
function batchOf (specs: SlotSpec[], defs: Array<[number, L.RefValue]>, values: L.RefValue[] = []): L.SpanBatch {
  const buf = new ArrayBuffer(specs.length * L.SLOT_BYTES)
  const u8 = new Uint8Array(buf)
  const i32 = new Int32Array(buf)
  const f64 = new Float64Array(buf)
  specs.forEach((spec, n) => {
    const b = n * L.SLOT_BYTES
    u8.set(Buffer.from(TRACE, 'hex'), b + L.TRACE_ID)
    u8.set(Buffer.from(SPAN, 'hex'), b + L.SPAN_ID)
    let flags = L.FLAG_SAMPLED
    if (spec.parent === true) {
      u8.set(Buffer.from(PARENT, 'hex'), b + L.PARENT_SPAN_ID)
      flags |= L.FLAG_HAS_PARENT | L.FLAG_PARENT_REMOTE
    }
    const i = b >> 2
    for (let k = L.I_FLAGS; k <= L.I_SPARE; k++) i32[i + k] = L.NONE
    i32[i + L.I_FLAGS] = flags
    i32[i + L.I_STATUS] = spec.status
    i32[i + L.I_PORT] = spec.port ?? 0
    i32[i + L.I_RL_ALLOWED] = spec.allowed ?? -1
    for (const [k, v] of Object.entries(spec.refs)) i32[i + L[k as keyof typeof spec.refs]] = v
    if (spec.traceState !== undefined) {
      values.push(spec.traceState)
      i32[i + L.I_TRACE_STATE] = -(values.length + 1)
    }
    f64[(b >> 3) + L.F_START] = START_HR
    f64[(b >> 3) + L.F_END] = END_HR
    f64[(b >> 3) + L.F_RL_REMAINING] = spec.remaining ?? 0
  })
  return { buf, n: specs.length, defs, values }
}

function hr (ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)]
}

/** The same span as the SDK would hand its exporter. */
function sdkSpan (attributes: Attributes, opts: { parent?: boolean, traceState?: string, error?: boolean } = {}) {
  const resource = { attributes: RESOURCE, schemaUrl: undefined }
  return {
    name: 'GET /api/wallet/list',
    kind: SpanKind.SERVER,
    spanContext: () => ({ traceId: TRACE, spanId: SPAN, traceFlags: 1, traceState: opts.traceState === undefined ? undefined : { serialize: () => opts.traceState } }),
    parentSpanContext: opts.parent === true ? { traceId: TRACE, spanId: PARENT, traceFlags: 1, isRemote: true } : undefined,
    startTime: hr(OFFSET + BigInt(START_HR)),
    endTime: hr(OFFSET + BigInt(END_HR)),
    status: { code: opts.error === true ? SpanStatusCode.ERROR : SpanStatusCode.UNSET },
    attributes,
    links: [],
    events: [],
    duration: [0, 0],
    ended: true,
    resource,
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0
  }
}

function decode (bytes: Uint8Array): Record<string, unknown> {
  return ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(bytes), { longs: String, bytes: String, defaults: false }) as Record<string, unknown>
}

const init = (limits: Partial<L.EncoderInit> = {}): L.EncoderInit => ({
  resource: { attributes: RESOURCE },
  scope: SCOPE,
  attributeCountLimit: 128,
  attributeValueLengthLimit: Infinity,
  hrOffsetNs: String(OFFSET),
  ...limits
})

// Shared table: id -> value, as the sink numbers them.
const SHARED: Array<[number, L.RefValue]> = [
  [0, 'GET /api/wallet/list'], [1, 'GET'], [2, '/api/wallet/list'], [3, 'http'], [4, '127.0.0.1'], [5, 'autocannon'],
  [6, 'tnt_acme'], [7, 'key_0123456789abcdef'], [8, ['latency#0', 'REDACTED']], [9, 'rate_limited'], [10, 'localhost']
]

describe('OTLP encoder for SERVER span slots', () => {
  it('writes what the SDK\'s ProtobufTraceSerializer writes for the same span', () => {
    const enc = createServerSpanEncoder(init())
    const refs = { I_NAME: 0, I_METHOD: 1, I_PATH: 2, I_SCHEME: 3, I_ROUTE: 2, I_ADDRESS: 10, I_CLIENT: 4, I_USER_AGENT: 5, I_TENANT: 6, I_KEY_ID: 7, I_FAULTS: 8, I_ERROR_CODE: 9 }
    const ours = enc.encode(batchOf([{ status: 429, refs, port: 3000, allowed: 0, remaining: 0, parent: true, traceState: 'vendor=abc' }], SHARED))
    const attributes: Attributes = {
      [N.ATTR_HTTP_REQUEST_METHOD]: 'GET',
      [N.ATTR_URL_PATH]: '/api/wallet/list',
      [N.ATTR_URL_SCHEME]: 'http',
      [N.ATTR_HTTP_ROUTE]: '/api/wallet/list',
      [N.ATTR_SERVER_ADDRESS]: 'localhost',
      [N.ATTR_SERVER_PORT]: 3000,
      [N.ATTR_CLIENT_ADDRESS]: '127.0.0.1',
      [N.ATTR_USER_AGENT_ORIGINAL]: 'autocannon',
      [N.ATTR_HTTP_RESPONSE_STATUS_CODE]: 429,
      [N.ATTR_TENZRO_TENANT_ID]: 'tnt_acme',
      [N.ATTR_TENZRO_KEY_ID]: 'key_0123456789abcdef',
      [N.ATTR_TENZRO_RATELIMIT_ALLOWED]: false,
      [N.ATTR_TENZRO_RATELIMIT_REMAINING]: 0,
      [N.ATTR_TENZRO_FAULT]: ['latency#0', 'REDACTED'],
      [N.ATTR_TENZRO_ERROR_CODE]: 'rate_limited'
    }
    const theirs = ProtobufTraceSerializer.serializeRequest([sdkSpan(attributes, { parent: true, traceState: 'vendor=abc' })] as never)!
    expect(decode(ours)).toEqual(decode(theirs))
    // Not only equal once decoded: the same bytes.
    expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(theirs).toString('hex'))
  })

  it('writes runs of spans that repeat their attributes as the SDK does, span after span', () => {
    const enc = createServerSpanEncoder(init())
    const base = { I_NAME: 0, I_METHOD: 1, I_PATH: 2, I_SCHEME: 3, I_ROUTE: 2, I_CLIENT: 4, I_USER_AGENT: 5, I_TENANT: 6, I_KEY_ID: 7 }
    const specs: SlotSpec[] = [
      { status: 200, refs: base, allowed: 1, remaining: 9 },
      { status: 200, refs: base, allowed: 1, remaining: 8 },
      { status: 429, refs: { ...base, I_ERROR_CODE: 9 }, allowed: 0, remaining: 0 },
      { status: 200, refs: { ...base, I_PATH: -2 }, allowed: 1, remaining: 7 },
      { status: 200, refs: { ...base, I_PATH: -3 }, allowed: 1, remaining: 6 },
      { status: 200, refs: base, allowed: 1, remaining: 5 }
    ]
    const ours = enc.encode(batchOf(specs, SHARED, ['/api/wallet/list?x', '/api/wallet/list?y']))
    const attrs = (spec: SlotSpec, path: string): Attributes => ({
      [N.ATTR_HTTP_REQUEST_METHOD]: 'GET',
      [N.ATTR_URL_PATH]: path,
      [N.ATTR_URL_SCHEME]: 'http',
      [N.ATTR_HTTP_ROUTE]: '/api/wallet/list',
      [N.ATTR_CLIENT_ADDRESS]: '127.0.0.1',
      [N.ATTR_USER_AGENT_ORIGINAL]: 'autocannon',
      [N.ATTR_HTTP_RESPONSE_STATUS_CODE]: spec.status,
      [N.ATTR_TENZRO_TENANT_ID]: 'tnt_acme',
      [N.ATTR_TENZRO_KEY_ID]: 'key_0123456789abcdef',
      [N.ATTR_TENZRO_RATELIMIT_ALLOWED]: spec.allowed === 1,
      [N.ATTR_TENZRO_RATELIMIT_REMAINING]: spec.remaining!,
      ...(spec.status === 429 ? { [N.ATTR_TENZRO_ERROR_CODE]: 'rate_limited' } : {})
    })
    const paths = ['/api/wallet/list', '/api/wallet/list', '/api/wallet/list', '/api/wallet/list?x', '/api/wallet/list?y', '/api/wallet/list']
    // One resource, one scope: the SDK groups spans by their (identical) resource and scope objects.
    const first = sdkSpan({})
    const theirs = ProtobufTraceSerializer.serializeRequest(specs.map((spec, n) => ({ ...sdkSpan(attrs(spec, paths[n]!)), resource: first.resource })) as never)!
    expect(decode(ours)).toEqual(decode(theirs))
    expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(theirs).toString('hex'))
  })

  it('marks a 5xx with error.type and an ERROR status, and omits what a slot does not hold', () => {
    const enc = createServerSpanEncoder(init())
    const ours = enc.encode(batchOf([{ status: 503, refs: { I_NAME: 0, I_METHOD: 1, I_PATH: 2, I_SCHEME: 3 } }], SHARED))
    const theirs = ProtobufTraceSerializer.serializeRequest([sdkSpan({
      [N.ATTR_HTTP_REQUEST_METHOD]: 'GET', [N.ATTR_URL_PATH]: '/api/wallet/list', [N.ATTR_URL_SCHEME]: 'http', [N.ATTR_HTTP_RESPONSE_STATUS_CODE]: 503, [N.ATTR_ERROR_TYPE]: '503'
    }, { error: true })] as never)!
    expect(decode(ours)).toEqual(decode(theirs))
  })

  it('keeps shared references across batches and resolves batch values per batch', () => {
    const enc = createServerSpanEncoder(init())
    enc.encode(batchOf([{ status: 200, refs: { I_NAME: 0, I_METHOD: 1 } }], SHARED))
    // The second batch defines nothing: ids 0-10 were sent with the first.
    const values: L.RefValue[] = ['/api/wallet/w_1', 'limit=20&cursor=REDACTED']
    const out = decode(enc.encode(batchOf([
      { status: 200, refs: { I_NAME: 0, I_METHOD: 1, I_PATH: -2, I_QUERY: -3, I_ROUTE: 2 } },
      { status: 404, refs: { I_NAME: 1, I_METHOD: 1, I_PATH: -2 } }
    ], [], values)))
    const spans = (out.resourceSpans as Array<{ scopeSpans: Array<{ spans: Array<{ name: string, attributes: Array<{ key: string, value: Record<string, unknown> }> }> }> }>)[0]!.scopeSpans[0]!.spans
    expect(spans.map((s) => s.name)).toEqual(['GET /api/wallet/list', 'GET'])
    const attrs = (n: number) => Object.fromEntries(spans[n]!.attributes.map((a) => [a.key, Object.values(a.value)[0]]))
    expect(attrs(0)).toMatchObject({ [N.ATTR_URL_PATH]: '/api/wallet/w_1', [N.ATTR_URL_QUERY]: 'limit=20&cursor=REDACTED', [N.ATTR_HTTP_ROUTE]: '/api/wallet/list', [N.ATTR_HTTP_RESPONSE_STATUS_CODE]: '200' })
    expect(attrs(1)).toMatchObject({ [N.ATTR_URL_PATH]: '/api/wallet/w_1', [N.ATTR_HTTP_RESPONSE_STATUS_CODE]: '404' })
  })

  it('applies the SDK\'s attribute limits: values cut to the length limit, attributes past the count limit dropped and counted', () => {
    const enc = createServerSpanEncoder(init({ attributeCountLimit: 3, attributeValueLengthLimit: 4 }))
    const out = decode(enc.encode(batchOf([{ status: 200, refs: { I_NAME: 0, I_METHOD: 1, I_PATH: 2, I_SCHEME: 3, I_ROUTE: 2, I_CLIENT: 4 } }], SHARED)))
    const span = (out.resourceSpans as Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>)[0]!.scopeSpans[0]!.spans[0]!
    expect(span.attributes).toEqual([
      { key: N.ATTR_HTTP_REQUEST_METHOD, value: { stringValue: 'GET' } },
      { key: N.ATTR_URL_PATH, value: { stringValue: '/api' } },
      { key: N.ATTR_URL_SCHEME, value: { stringValue: 'http' } }
    ])
    // route, client.address and the status code did not fit.
    expect(span.droppedAttributesCount).toBe(3)
  })

  it('writes a batch of many spans that the harness\'s receiver accepts', async () => {
    const receiver = await createOtlpReceiver()
    try {
      const enc = createServerSpanEncoder(init())
      const specs = Array.from({ length: 600 }, (_, n): SlotSpec => ({ status: 200 + (n % 3), refs: { I_NAME: 0, I_METHOD: 1, I_PATH: 2, I_USER_AGENT: n % 2 === 0 ? 5 : -2 } }))
      const body = enc.encode(batchOf(specs, SHARED, ['x'.repeat(300)]))
      const res = await fetch(receiver.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body })
      expect(res.status).toBe(200)
      const spans = receiver.spans()
      expect(spans).toHaveLength(600)
      expect(spans[0]).toMatchObject({ name: 'GET /api/wallet/list', kind: 'server', traceId: TRACE, spanId: SPAN })
      expect(spans[1]!.attributes[N.ATTR_USER_AGENT_ORIGINAL]).toBe('x'.repeat(300))
      expect(spans[0]!.resource['service.name']).toBe('tenzro-mock-test')
    } finally {
      await receiver.close()
    }
  })
})
