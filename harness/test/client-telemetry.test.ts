// The reference client's OpenTelemetry: a CLIENT span per HTTP attempt under one INTERNAL span per
// operation, W3C trace context on the wire, a CONSUMER span per processed event (semconv http and
// messaging), through @opentelemetry/api only, with an in-memory exporter from @opentelemetry/sdk-trace.
import { afterEach, describe, expect, it } from 'vitest'
import { SpanKind, SpanStatusCode, propagation, trace, type Context, type TextMapPropagator } from '@opentelemetry/api'
import * as semconv from '@opentelemetry/semantic-conventions'
import * as incubating from '@opentelemetry/semantic-conventions/incubating'
import { createTenzroClient, type FetchLike } from '../src/client/index.ts'
import * as names from '../src/client/names.ts'
import { fakeTime, memoryTracer, publish, setFaults, startClientMock, waitUntil, type TestMock } from './helpers/mock.ts'

let mock: TestMock | undefined
afterEach(async () => {
  await mock?.close()
  mock = undefined
})

describe('reference client: telemetry', () => {
  it('names its attributes as the semantic conventions do', () => {
    expect(names.ATTR_HTTP_REQUEST_METHOD).toBe(semconv.ATTR_HTTP_REQUEST_METHOD)
    expect(names.ATTR_HTTP_RESPONSE_STATUS_CODE).toBe(semconv.ATTR_HTTP_RESPONSE_STATUS_CODE)
    expect(names.ATTR_HTTP_REQUEST_RESEND_COUNT).toBe(semconv.ATTR_HTTP_REQUEST_RESEND_COUNT)
    expect(names.ATTR_URL_FULL).toBe(semconv.ATTR_URL_FULL)
    expect(names.ATTR_SERVER_ADDRESS).toBe(semconv.ATTR_SERVER_ADDRESS)
    expect(names.ATTR_SERVER_PORT).toBe(semconv.ATTR_SERVER_PORT)
    expect(names.ATTR_ERROR_TYPE).toBe(semconv.ATTR_ERROR_TYPE)
    expect(names.ATTR_URL_TEMPLATE).toBe(incubating.ATTR_URL_TEMPLATE)
    expect(names.ATTR_MESSAGING_SYSTEM).toBe(incubating.ATTR_MESSAGING_SYSTEM)
    expect(names.ATTR_MESSAGING_MESSAGE_ID).toBe(incubating.ATTR_MESSAGING_MESSAGE_ID)
    expect(names.ATTR_MESSAGING_DESTINATION_NAME).toBe(incubating.ATTR_MESSAGING_DESTINATION_NAME)
    expect(names.ATTR_MESSAGING_OPERATION_TYPE).toBe(incubating.ATTR_MESSAGING_OPERATION_TYPE)
    expect(names.ATTR_MESSAGING_OPERATION_NAME).toBe(incubating.ATTR_MESSAGING_OPERATION_NAME)
  })

  it('makes the attempts of one request sibling CLIENT spans under one INTERNAL span, and sends each one’s traceparent', async () => {
    const clock = fakeTime()
    mock = await startClientMock({}, { now: clock.now })
    const k = mock.keys.acme
    await setFaults(mock, { faults: [{ type: 'error', status: 503, retryAfterS: 1, times: 2, scope: { route: 'GET /api/wallet/list' } }] })
    const t = memoryTracer()
    const sent: string[] = []
    const spy: FetchLike = (url, init) => {
      sent.push((init.headers as Record<string, string>).traceparent ?? '')
      return fetch(url, init)
    }
    const c = createTenzroClient({ baseUrl: mock.url, apiKey: k.key, tenantId: k.tenantId, tracer: t.tracer, now: clock.now, sleep: clock.sleep, fetch: spy })
    await c.wallets.list({ limit: 3 })
    const spans = await t.spans()
    const parent = spans.find((s) => s.kind === SpanKind.INTERNAL)!
    const attempts = spans.filter((s) => s.kind === SpanKind.CLIENT)
    expect(parent.name).toBe('tenzro wallets.list')
    expect(attempts).toHaveLength(3)
    const port = Number(new URL(mock.url).port)
    attempts.forEach((s, i) => {
      expect(s.name).toBe('GET /api/wallet/list')
      expect(s.parentSpanContext?.spanId).toBe(parent.spanContext().spanId)
      expect(s.spanContext().traceId).toBe(parent.spanContext().traceId)
      expect(s.attributes['http.request.method']).toBe('GET')
      expect(s.attributes['url.full']).toBe(`${mock!.url}/api/wallet/list?limit=3`)
      expect(s.attributes['url.template']).toBe('/api/wallet/list')
      expect(s.attributes['server.address']).toBe('127.0.0.1')
      expect(s.attributes['server.port']).toBe(port)
      expect(s.attributes['http.request.resend_count']).toBe(i === 0 ? undefined : i)
      // The traceparent on the wire names this attempt's span (W3C Trace Context).
      expect(sent[i]).toBe(`00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`)
    })
    expect(attempts.map((s) => s.attributes['http.response.status_code'])).toEqual([503, 503, 200])
    expect(attempts.map((s) => s.attributes['error.type'])).toEqual(['503', '503', undefined])
    expect(attempts.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR, SpanStatusCode.UNSET])
    expect(parent.events.filter((e) => e.name === 'tenzro.retry')).toHaveLength(2)
    expect(parent.attributes['tenzro.attempts']).toBe(3)
    await t.shutdown()
  })

  it('injects through the global propagator when one is registered', async () => {
    mock = await startClientMock()
    const k = mock.keys.acme
    // A propagator of our own makes the call visible (the W3C one would write the same traceparent as the fallback).
    const custom: TextMapPropagator = {
      inject (ctx: Context, carrier: unknown, setter) { setter.set(carrier, 'x-test-trace', trace.getSpanContext(ctx)?.spanId ?? 'none') },
      extract: (ctx: Context) => ctx,
      fields: () => ['x-test-trace']
    }
    propagation.setGlobalPropagator(custom)
    try {
      const t = memoryTracer()
      const sent: Array<Record<string, string>> = []
      const spy: FetchLike = (url, init) => { sent.push(init.headers as Record<string, string>); return fetch(url, init) }
      const c = createTenzroClient({ baseUrl: mock.url, apiKey: k.key, tenantId: k.tenantId, tracer: t.tracer, fetch: spy })
      await c.wallets.list({ limit: 1 })
      const attempt = (await t.spans()).find((s) => s.kind === SpanKind.CLIENT)!
      expect(sent[0]!['x-test-trace']).toBe(attempt.spanContext().spanId)
      await t.shutdown()
    } finally {
      propagation.disable()
    }
  })

  it('marks the operation span as failed with the error code when it gives up', async () => {
    mock = await startClientMock()
    const k = mock.keys.acme
    const t = memoryTracer()
    const c = createTenzroClient({ baseUrl: mock.url, apiKey: k.key, tenantId: 'globex', tracer: t.tracer })
    await expect(c.wallets.list()).rejects.toMatchObject({ code: 'tenant_mismatch', status: 403 })
    const parent = (await t.spans()).find((s) => s.kind === SpanKind.INTERNAL)!
    expect(parent.status.code).toBe(SpanStatusCode.ERROR)
    expect(parent.attributes['error.type']).toBe('tenant_mismatch')
    await t.shutdown()
  })

  it('records a CONSUMER span per processed event, linked to the stream connection', async () => {
    mock = await startClientMock()
    const k = mock.keys.acme
    const t = memoryTracer()
    const c = createTenzroClient({ baseUrl: mock.url, apiKey: k.key, tenantId: k.tenantId, tracer: t.tracer })
    const seen: string[] = []
    const ac = new AbortController()
    const done = c.events.consume({ lastEventId: '0', signal: ac.signal, handler: (e) => { seen.push(e.id) } })
    await publish(mock, 'acme', 'wallet.created', { a: 1 })
    await publish(mock, 'acme', 'token.transfer.pending', { b: 2 })
    await waitUntil(() => seen.length >= 2, 5000, '2 events')
    ac.abort()
    await done
    const all = await t.spans()
    const consumers = all.filter((s) => s.kind === SpanKind.CONSUMER)
    const connection = all.find((s) => s.kind === SpanKind.CLIENT && s.name === 'GET /api/events/stream')!
    expect(consumers.map((s) => s.name)).toEqual(['process wallet.created', 'process token.transfer.pending'])
    expect(consumers.map((s) => s.attributes['messaging.message.id'])).toEqual(['1', '2'])
    expect(consumers.map((s) => s.attributes['messaging.destination.name'])).toEqual(['wallet.created', 'token.transfer.pending'])
    for (const s of consumers) {
      expect(s.attributes['messaging.system']).toBe('tenzro')
      expect(s.attributes['messaging.operation.type']).toBe('process')
      expect(s.parentSpanContext).toBeUndefined()
      expect(s.links.map((l) => l.context.spanId)).toEqual([connection.spanContext().spanId])
    }
    expect(connection.attributes['http.response.status_code']).toBe(200)
    await t.shutdown()
  })

  it('works without any tracer registered (the API’s no-op) and sends no traceparent', async () => {
    mock = await startClientMock()
    const k = mock.keys.acme
    const sent: Array<string | undefined> = []
    const spy: FetchLike = (url, init) => {
      sent.push((init.headers as Record<string, string>).traceparent)
      return fetch(url, init)
    }
    const c = createTenzroClient({ baseUrl: mock.url, apiKey: k.key, tenantId: k.tenantId, fetch: spy })
    expect((await c.wallets.list({ limit: 1 })).wallets).toHaveLength(1)
    expect(sent).toEqual([undefined])
  })
})
