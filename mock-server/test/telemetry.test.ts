// The mock's traces (issue 7 items 1, 2 and 5): SERVER spans that continue the caller's W3C trace,
// semantic-convention attributes, what the other plugins decided (tenant, key id, rate limit, fault),
// no hook at all when tracing is off, and no key in any span. Spans go through the real SDK
// (BatchSpanProcessor, OTLP/HTTP protobuf exporter) to the embedded receiver on a real socket.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SpanKind, trace, ROOT_CONTEXT, type Tracer } from '@opentelemetry/api'
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import * as semconv from '@opentelemetry/semantic-conventions'
import * as incubating from '@opentelemetry/semantic-conventions/incubating'
import { createOtlpReceiver, type OtlpReceiver, type Span } from '../../harness/src/otlp/index.ts'
import { createLeakScanner } from '../../harness/src/scan/index.ts'
import { buildApp } from '../src/app.ts'
import { resolveConfig, type MockConfigInput } from '../src/config.ts'
import { extractContext, looksSecret, redactPath, redactQuery } from '../src/plugins/telemetry.ts'
import * as N from '../src/telemetry/names.ts'
import { fastSpansFor, tracesProtocol, tracingConfigured } from '../src/telemetry/sdk.ts'
import { control, fakeKey, headersFor, QUIET, startMock, type TestMock } from './helper.ts'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const SPAN_ID = '00f067aa0ba902b7'

interface Traced {
  m: TestMock
  receiver: OtlpReceiver
  tracer: Tracer
  /**
   * Flush the SDK and return every span the receiver holds, once there are at least `min`: a SERVER
   * span ends when the response has been handed to the socket, which can be after the client read it.
   */
  spans (min?: number): Promise<Span[]>
  close (): Promise<void>
}

const open: Traced[] = []
afterEach(async () => { for (const t of open.splice(0)) await t.close() })
/** Which way tracedMock() makes SERVER spans: the SDK's tracer, or the span sink (telemetry/span-sink.ts). */
let mode: 'sdk' | 'fast' = 'sdk'

async function tracedMock (input: MockConfigInput = {}): Promise<Traced> {
  const receiver = await createOtlpReceiver()
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'tenzro-mock-test' }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: receiver.tracesUrl }), scheduledDelayMillis: 20 })]
  })
  const tracer = provider.getTracer(N.TRACER_NAME, N.TRACER_VERSION)
  // The sink takes the provider's settings (sampler, resource, batch processor) and its exporter's URL.
  const fast = mode === 'fast' ? await fastSpansFor(tracer, { url: receiver.tracesUrl }) : undefined
  if (mode === 'fast' && fast === undefined) throw new Error('no span sink for a BatchSpanProcessor + OTLP protobuf pipeline')
  const m = await startMock({ ...QUIET, ...input }, { tracer, fast })
  const t: Traced = {
    m,
    receiver,
    tracer,
    async spans (min = 1) {
      const deadline = Date.now() + 3000
      for (;;) {
        await Promise.all([provider.forceFlush(), fast?.sink.forceFlush()])
        const spans = receiver.spans()
        if (spans.length >= min || Date.now() > deadline) return spans
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
    async close () {
      await m.close()
      await fast?.sink.shutdown()
      await provider.shutdown()
      await receiver.close()
    }
  }
  open.push(t)
  return t
}

function serverSpans (spans: Span[], route?: string): Span[] {
  return spans.filter((s) => s.kind === 'server' && (route === undefined || s.attributes[N.ATTR_HTTP_ROUTE] === route))
}

describe('tracing switch', () => {
  it('adds no hook and no request decorator when no tracer is given, and its API passes through', async () => {
    const app = await buildApp(resolveConfig(QUIET))
    try {
      expect(app.telemetry.enabled).toBe(false)
      expect(app.hasRequestDecorator('tenzroSpan')).toBe(false)
      const hooks = app.printRoutes({ includeHooks: true, commonPrefix: false })
      expect(hooks).not.toMatch(/startServerSpan|endServerSpanHook/)
      const record = () => {}
      expect(app.telemetry.recorder(record)).toBe(record)
    } finally { await app.close() }

    const provider = new TracerProvider()
    const traced = await buildApp(resolveConfig(QUIET), { tracer: provider.getTracer('t') })
    try {
      expect(traced.telemetry.enabled).toBe(true)
      expect(traced.hasRequestDecorator('tenzroSpan')).toBe(true)
      expect(traced.printRoutes({ includeHooks: true, commonPrefix: false })).toMatch(/startServerSpan/)
    } finally { await traced.close() }
  })

  it('is on only when OTEL_* names an endpoint or an exporter, and off when disabled', () => {
    expect(tracingConfigured({})).toBe(false)
    expect(tracingConfigured({ OTEL_SERVICE_NAME: 'x' })).toBe(false)
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true)
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true)
    expect(tracingConfigured({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true)
    expect(tracingConfigured({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })).toBe(false)
    expect(tracingConfigured({ OTEL_SDK_DISABLED: 'TRUE', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })).toBe(false)
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBe(false)
    expect(tracesProtocol({})).toBe('http/protobuf')
    expect(tracesProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBe('http/json')
    expect(tracesProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' })).toBe('http/protobuf')
  })
})

describe('names', () => {
  it('uses the semantic-convention names wherever one exists', () => {
    expect(N.ATTR_HTTP_REQUEST_METHOD).toBe(semconv.ATTR_HTTP_REQUEST_METHOD)
    expect(N.ATTR_HTTP_REQUEST_METHOD_ORIGINAL).toBe(semconv.ATTR_HTTP_REQUEST_METHOD_ORIGINAL)
    expect(N.ATTR_HTTP_ROUTE).toBe(semconv.ATTR_HTTP_ROUTE)
    expect(N.ATTR_HTTP_RESPONSE_STATUS_CODE).toBe(semconv.ATTR_HTTP_RESPONSE_STATUS_CODE)
    expect(N.ATTR_URL_PATH).toBe(semconv.ATTR_URL_PATH)
    expect(N.ATTR_URL_QUERY).toBe(semconv.ATTR_URL_QUERY)
    expect(N.ATTR_URL_SCHEME).toBe(semconv.ATTR_URL_SCHEME)
    expect(N.ATTR_SERVER_ADDRESS).toBe(semconv.ATTR_SERVER_ADDRESS)
    expect(N.ATTR_SERVER_PORT).toBe(semconv.ATTR_SERVER_PORT)
    expect(N.ATTR_CLIENT_ADDRESS).toBe(semconv.ATTR_CLIENT_ADDRESS)
    expect(N.ATTR_USER_AGENT_ORIGINAL).toBe(semconv.ATTR_USER_AGENT_ORIGINAL)
    expect(N.ATTR_ERROR_TYPE).toBe(semconv.ATTR_ERROR_TYPE)
    expect(N.ATTR_MESSAGING_SYSTEM).toBe(incubating.ATTR_MESSAGING_SYSTEM)
    expect(N.ATTR_MESSAGING_MESSAGE_ID).toBe(incubating.ATTR_MESSAGING_MESSAGE_ID)
    expect(N.ATTR_MESSAGING_DESTINATION_NAME).toBe(incubating.ATTR_MESSAGING_DESTINATION_NAME)
    expect(N.ATTR_MESSAGING_OPERATION_TYPE).toBe(incubating.ATTR_MESSAGING_OPERATION_TYPE)
    expect(N.ATTR_MESSAGING_OPERATION_NAME).toBe(incubating.ATTR_MESSAGING_OPERATION_NAME)
    expect(N.MESSAGING_OPERATION_SEND).toBe(incubating.MESSAGING_OPERATION_TYPE_VALUE_SEND)
  })
})

// Every SERVER span check runs on both paths: through the SDK's tracer, and through the span sink
// (slots encoded and exported by a worker thread) that `tenzro-mock` uses for OTLP/HTTP protobuf.
describe.each(['sdk', 'fast'] as const)('SERVER spans through the %s path', (m) => {
  beforeEach(() => { mode = m })

  describe('W3C trace context', () => {
    it('continues the caller\'s traceparent: the SERVER span is its child and the record carries the trace id', async () => {
      const t = await tracedMock()
      const res = await fetch(t.m.url + '/api/wallet/list', { headers: headersFor(t.m.keys.acme, { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: 'vendor=opaque' }) })
      expect(res.status).toBe(200)
      const [span] = serverSpans(await t.spans())
      expect(span).toBeDefined()
      expect(span!.traceId).toBe(TRACE_ID)
      expect(span!.parentSpanId).toBe(SPAN_ID)
      expect(span!.traceState).toBe('vendor=opaque')
      expect(span!.name).toBe('GET /api/wallet/list')
      const entry = [...t.m.app.mock.record.after()].find((e) => e.type === 'request' && e.route === '/api/wallet/list')
      expect(entry?.traceId).toBe(TRACE_ID)
    })

    it('starts a new trace, recorded too, when traceparent is absent or invalid', async () => {
      const t = await tracedMock()
      const invalid = [
        undefined,
        `ff-${TRACE_ID}-${SPAN_ID}-01`, // version ff is forbidden
        `00-${'0'.repeat(32)}-${SPAN_ID}-01`, // all-zero trace id
        `00-${TRACE_ID}-${'0'.repeat(16)}-01`, // all-zero parent id
        `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`, // upper-case hex
        `00-${TRACE_ID}-${SPAN_ID}-01-extra`, // version 00 has exactly four fields
        `00-${TRACE_ID}-${SPAN_ID}`, // too short
        `00-${TRACE_ID}-${SPAN_ID}-01, 00-${TRACE_ID}-${SPAN_ID}-01` // two headers, joined
      ]
      for (const tp of invalid) {
        const res = await fetch(t.m.url + '/api/wallet/list', { headers: headersFor(t.m.keys.acme, tp === undefined ? {} : { traceparent: tp }) })
        expect(res.status).toBe(200)
      }
      const spans = serverSpans(await t.spans(invalid.length))
      expect(spans).toHaveLength(invalid.length)
      const recorded = [...t.m.app.mock.record.after()].filter((e) => e.type === 'request').map((e) => e.traceId)
      for (const span of spans) {
        expect(span.traceId).not.toBe(TRACE_ID)
        expect(span.parentSpanId).toBeUndefined()
        expect(recorded).toContain(span.traceId)
      }
      expect(new Set(spans.map((s) => s.traceId)).size).toBe(invalid.length)
    })

    it('accepts a later version\'s extra fields and keeps the sampled flag', () => {
      const sc = trace.getSpanContext(extractContext(`01-${TRACE_ID}-${SPAN_ID}-03-future`, undefined))
      expect(sc).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true })
      expect(trace.getSpanContext(extractContext(`00-${TRACE_ID}-${SPAN_ID}-00`, undefined))?.traceFlags).toBe(0)
      expect(extractContext(['a', 'b'], undefined)).toBe(ROOT_CONTEXT)
    })

    it('records the trace id but exports nothing when the caller did not sample', async () => {
      const t = await tracedMock()
      await fetch(t.m.url + '/api/wallet/list', { headers: headersFor(t.m.keys.acme, { traceparent: `00-${TRACE_ID}-${SPAN_ID}-00` }) })
      await fetch(t.m.url + '/health')
      const spans = await t.spans()
      expect(spans.filter((s) => s.traceId === TRACE_ID)).toHaveLength(0)
      expect(serverSpans(spans, '/health')).toHaveLength(1)
      const entry = [...t.m.app.mock.record.after()].find((e) => e.type === 'request' && e.route === '/api/wallet/list')
      expect(entry?.traceId).toBe(TRACE_ID)
    })
  })

  describe('SERVER span attributes', () => {
    it('carries the HTTP semantic conventions, the tenant, the key id and the rate-limit decision', async () => {
      const t = await tracedMock()
      const k = t.m.keys.acme
      const port = new URL(t.m.url).port
      const res = await fetch(t.m.url + '/api/wallet/list?limit=5&chain=ethereum', { headers: headersFor(k, { 'user-agent': 'acme-sync/1.2 (+https://example.test)' }) })
      expect(res.status).toBe(200)
      const [span] = serverSpans(await t.spans())
      expect(span?.kind).toBe('server')
      expect(span?.status.code).toBe('unset')
      expect(span?.scope.name).toBe(N.TRACER_NAME)
      expect(span?.attributes).toEqual({
        'http.request.method': 'GET',
        'http.route': '/api/wallet/list',
        'http.response.status_code': 200,
        'url.path': '/api/wallet/list',
        'url.query': 'limit=5&chain=ethereum',
        'url.scheme': 'http',
        'server.address': '127.0.0.1',
        'server.port': Number(port),
        'client.address': '127.0.0.1',
        'user_agent.original': 'acme-sync/1.2 (+https://example.test)',
        'tenzro.tenant.id': k.tenantId,
        'tenzro.key.id': k.id,
        'tenzro.ratelimit.allowed': true,
        'tenzro.ratelimit.remaining': expect.any(Number)
      })
    })

    it('marks a 429 with the refused decision and the error code, but not as a server error', async () => {
      const t = await tracedMock()
      const created = await control(t.m, 'POST', '/__harness/keys', { tenant: 'acme', rateLimit: 1 })
      const k = { key: created.body.data.key as string, tenantId: t.m.keys.acme.tenantId }
      expect((await fetch(t.m.url + '/api/wallet/list', { headers: headersFor(k) })).status).toBe(200)
      expect((await fetch(t.m.url + '/api/wallet/list', { headers: headersFor(k) })).status).toBe(429)
      const spans = serverSpans(await t.spans(3), '/api/wallet/list')
      const refused = spans.find((s) => s.attributes[N.ATTR_HTTP_RESPONSE_STATUS_CODE] === 429)
      expect(refused?.attributes).toMatchObject({
        'tenzro.key.id': created.body.data.id,
        'tenzro.ratelimit.allowed': false,
        'tenzro.ratelimit.remaining': 0,
        'tenzro.error.code': 'rate_limited'
      })
      expect(refused?.attributes['error.type']).toBeUndefined()
      expect(refused?.status.code).toBe('unset')
    })

    it('marks an injected 5xx with error.type, ERROR status and the fault applied', async () => {
      const t = await tracedMock()
      const plan = await control(t.m, 'PUT', '/__harness/faults', { faults: [{ id: 'flaky-list', type: 'error', status: 503, times: 1, scope: { route: 'GET /api/wallet/list' } }] })
      expect(plan.status).toBe(200)
      expect((await fetch(t.m.url + '/api/wallet/list', { headers: headersFor(t.m.keys.acme) })).status).toBe(503)
      const [span] = serverSpans(await t.spans(2), '/api/wallet/list')
      expect(span?.attributes).toMatchObject({
        'http.response.status_code': 503,
        'error.type': '503',
        'tenzro.fault': ['flaky-list'],
        'tenzro.error.code': 'service_unavailable'
      })
      expect(span?.status.code).toBe('error')
    })

    it('traces requests other plugins refuse, and 404s, named by method alone when no route matched', async () => {
      const t = await tracedMock()
      await fetch(t.m.url + '/api/wallet/list', { headers: { 'x-api-version': '7' } })
      await fetch(t.m.url + '/api/wallet/list')
      await fetch(t.m.url + '/nowhere')
      const spans = serverSpans(await t.spans(3))
      expect(spans.map((s) => [s.name, s.attributes[N.ATTR_HTTP_RESPONSE_STATUS_CODE], s.attributes[N.ATTR_TENZRO_ERROR_CODE]])).toEqual([
        ['GET /api/wallet/list', 400, 'unsupported_api_version'],
        ['GET /api/wallet/list', 401, 'missing_api_key'],
        ['GET', 404, 'not_found']
      ])
      expect(spans[2]?.attributes[N.ATTR_HTTP_ROUTE]).toBeUndefined()
    })
  })

  describe('secrets in spans', () => {
    it('redacts what could hold a key in paths, queries and free text, and keeps what cannot', () => {
      const key = fakeKey('acme', 'FAKEredact')
      const secret = key.slice(key.indexOf('_', 4) + 1) // tnz_<tenant>_<secret>: the tenant has no '_', the secret may
      expect(redactPath(`/api/keys/${key}`)).toBe('/api/keys/REDACTED')
      expect(redactPath(`/api/keys/${encodeURIComponent(key).replace(/_/g, '%5F')}`)).toBe('/api/keys/REDACTED')
      expect(redactPath(`/api/keys/${Buffer.from(key).toString('base64url')}`)).toBe('/api/keys/REDACTED')
      expect(redactPath('/api/keys/tenant/4b5a2f4e-1c7e-4f0a-9a6f-0f7d7c0a1b2c')).toBe('/api/keys/tenant/4b5a2f4e-1c7e-4f0a-9a6f-0f7d7c0a1b2c')
      expect(redactPath('/api/keys/key_AbCdEfGhIjKlMnOp')).toBe('/api/keys/key_AbCdEfGhIjKlMnOp')
      expect(redactQuery(`limit=5&api_key=${key}&cursor=eyJ0IjoxfQ&chain=ethereum`)).toBe('limit=5&api_key=REDACTED&cursor=REDACTED&chain=ethereum')
      expect(redactQuery(`${key}&limit=${secret}&subjects=${key}`)).toBe('REDACTED&limit=REDACTED&subjects=REDACTED')
      expect(redactQuery('subjects=wallet.*,ledger.%3E&last_event_id=42')).toBe('subjects=wallet.*,ledger.%3E&last_event_id=42')
      expect(looksSecret('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36')).toBe(false)
      expect(looksSecret(`my-client/1.0 ${secret}`)).toBe(true)
      expect(looksSecret(`my-client/1.0 ${Buffer.from(key).toString('base64')}`)).toBe(true)
    })

    /** Every place a careless client could put its key, each with its own canary. */
    async function leakyRequests (t: Traced): Promise<string[]> {
      const c = (label: string) => fakeKey('acme', 'FAKECANARY' + label)
      const canaries: string[] = []
      const use = (label: string) => { const k = c(label); canaries.push(k); return k }
      const live = (await control(t.m, 'POST', '/__harness/keys', { tenant: 'acme' })).body.data.key as string
      canaries.push(live)
      const tenantId = t.m.keys.acme.tenantId
      const b64 = (s: string) => Buffer.from(s).toString('base64')
      const sends: Array<[string, RequestInit]> = [
        ['/api/wallet/list', { headers: { 'x-api-key': live, 'x-tenant-id': tenantId } }],
        ['/api/wallet/list', { headers: { authorization: `Bearer ${live}`, 'x-tenant-id': tenantId } }],
        ['/api/wallet/list', { headers: { 'x-api-key': use('wrongsecret'), 'x-tenant-id': tenantId } }],
        ['/api/wallet/list', { headers: { authorization: `Bearer ${use('bearer')}`, 'x-tenant-id': tenantId } }],
        [`/api/wallet/list?api_key=${use('query')}`, { headers: { 'x-tenant-id': tenantId } }],
        [`/api/wallet/list?limit=5&cursor=${use('cursor')}`, { headers: { 'x-api-key': live, 'x-tenant-id': tenantId } }],
        [`/api/wallet/list?${use('bare')}`, { headers: { 'x-api-key': live, 'x-tenant-id': tenantId } }],
        [`/api/wallet/list?token=${encodeURIComponent(b64(use('base64')))}`, { headers: { 'x-api-key': live, 'x-tenant-id': tenantId } }],
        [`/api/wallet/list?subjects=${use('querysubject')}`, { headers: { 'x-api-key': live, 'x-tenant-id': tenantId } }],
        [`/api/keys/${use('path')}`, { method: 'DELETE', headers: { 'x-admin-api-key': use('admin') } }],
        [`/api/keys/${b64(use('pathb64')).replace(/\//g, '_')}`, { method: 'DELETE', headers: { 'x-admin-api-key': live } }],
        ['/api/wallet/list', { headers: { 'x-api-key': live, 'x-tenant-id': tenantId, 'user-agent': `sync/1.0 key=${use('useragent')}` } }],
        ['/api/wallet/list', { headers: { 'x-api-key': live, 'x-tenant-id': tenantId, 'x-request-id': use('requestid') } }],
        ['/api/wallet/list', { headers: { 'x-api-key': live, 'x-tenant-id': tenantId, traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: `acme=${use('tracestate')}` } }],
        // Refused (a wallet name carrying a key, 400); the next create succeeds and publishes wallet.created.
        ['/api/wallet/create', { method: 'POST', headers: { 'x-api-key': live, 'x-tenant-id': tenantId, 'content-type': 'application/json', 'x-idempotency-key': use('idem') }, body: JSON.stringify({ name: use('body'), type: 'mpc', chain: 'ethereum' }) }],
        ['/api/wallet/create', { method: 'POST', headers: { 'x-api-key': live, 'x-tenant-id': tenantId, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Ops', type: 'mpc', chain: 'ethereum' }) }]
      ]
      for (const [path, init] of sends) {
        const res = await fetch(t.m.url + path, init)
        await res.arrayBuffer()
      }
      // Event streams: one filtered by a key-shaped subject pattern, one that receives an event published
      // under a key-shaped subject (both valid subjects, contract 4.2, 7.4).
      const sse = { 'x-api-key': live, 'x-tenant-id': tenantId, accept: 'text/event-stream' }
      const ac = new AbortController()
      const filtered = await fetch(`${t.m.url}/api/events/stream?subjects=${use('subjects')}`, { headers: sse, signal: ac.signal })
      const all = await fetch(`${t.m.url}/api/events/stream`, { headers: sse, signal: ac.signal })
      expect([filtered.status, all.status]).toEqual([200, 200])
      const reader = all.body!.getReader()
      await control(t.m, 'POST', '/__harness/events', { tenant: 'acme', type: use('subject'), data: { n: 1 } })
      let text = ''
      while (!text.includes('data:')) text += Buffer.from((await reader.read()).value ?? []).toString()
      ac.abort()
      return canaries
    }

    function corpus (spans: Span[]): string {
      return JSON.stringify(spans, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v))
    }

    it('exports no canary key, raw or encoded, from any request a client could get wrong', async () => {
      const t = await tracedMock()
      const canaries = await leakyRequests(t)
      // A SERVER span per request (and per control call), two stream spans, two PRODUCER spans (the
      // wallet created by one of the requests, and the control call's event).
      const spans = await t.spans(24)
      expect(spans).toHaveLength(24)
      expect(spans.filter((s) => s.kind === 'producer').map((s) => s.name).sort()).toEqual(['publish REDACTED', 'publish wallet.created'])
      expect(spans.filter((s) => s.name === N.SPAN_SSE_STREAM).map((s) => s.attributes[N.ATTR_TENZRO_STREAM_SUBJECTS] ?? null).sort()).toEqual([['REDACTED'], null])
      const findings = createLeakScanner({ canaries, rules: [] }).scan(corpus(spans), 'spans')
      expect(findings.map((f) => `${f.encoding} ${f.match} ${f.preview}`)).toEqual([])
    })

    it('finds the canaries once redaction is switched off, so the search above can fail', async () => {
      const t = await tracedMock({ unsafeDisableRedaction: true })
      const canaries = await leakyRequests(t)
      const findings = createLeakScanner({ canaries, rules: [] }).scan(corpus(await t.spans(22)), 'spans')
      const found = new Set(findings.filter((f) => f.match === 'full').map((f) => canaries[f.canary!]))
      // Every canary that went out in a header or the URL is caught; bodies are never captured, and the
      // event's subject is redacted even then.
      const missed = canaries.filter((c) => !found.has(c)).map((c) => c.slice(c.indexOf('FAKECANARY') + 10, c.indexOf('FAKECANARY') + 20))
      expect(missed.sort()).toEqual(['bodyFAKECA', 'subjectFAK'])
    })
  })
})

describe('producer spans', () => {
  it('makes PRODUCER spans for events published through app.telemetry.publish, child of the request', async () => {
    const t = await tracedMock()
    const app = t.m.app
    const tenantId = t.m.keys.acme.tenantId
    const parent = t.tracer.startSpan('caller', { kind: SpanKind.SERVER })
    const request = { tenzroSpan: parent } as never
    const e = await app.telemetry.publish(app.mock.events, tenantId, 'wallet.updated', { id: 'wal_1' }, request)
    parent.end()
    const spans = await t.spans(2)
    const producer = spans.find((s) => s.kind === 'producer')
    expect(producer?.name).toBe('publish wallet.updated')
    expect(producer?.parentSpanId).toBe(parent.spanContext().spanId)
    expect(producer?.attributes).toMatchObject({
      'messaging.system': 'tenzro',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'publish',
      'messaging.destination.name': 'wallet.updated',
      'messaging.message.id': String(e.seq),
      'tenzro.tenant.id': tenantId
    })
  })
})
