// Trace assertions: each passes where the trace shows the behaviour and fails where it does not.
import { afterEach, describe, expect, it } from 'vitest'
import { context, SpanKind, trace } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import {
  describeSelector, expectAttributes, expectChildOf, expectCount, expectDuration, expectHasChild,
  expectLinkedTo, expectOrder, expectUnique, groupByTrace, indexSpans, selectSpans
} from '../src/otlp/assert.ts'
import type { Selector } from '../src/otlp/assert.ts'
import { createOtlpReceiver } from '../src/otlp/receiver.ts'
import type { OtlpReceiver } from '../src/otlp/receiver.ts'
import type { Span } from '../src/otlp/span.ts'

let seq = 0

function traceId (n: number): string {
  return n.toString(16).padStart(32, '0')
}

/** A span as the receiver would produce it; times in ms from an arbitrary origin. */
function span (fields: Partial<Span> & { name: string, trace?: number, startMs?: number, lengthMs?: number }): Span {
  seq++
  const { trace: t = 1, startMs = seq, lengthMs = 1, ...rest } = fields
  const start = BigInt(startMs) * 1_000_000n
  const end = start + BigInt(Math.round(lengthMs * 1_000_000))
  return {
    traceId: traceId(t),
    spanId: seq.toString(16).padStart(16, '0'),
    parentSpanId: undefined,
    traceState: undefined,
    flags: 1,
    kind: 'internal',
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    durationMs: lengthMs,
    attributes: {},
    events: [],
    links: [],
    status: { code: 'unset', message: '' },
    resource: { 'service.name': 'client' },
    scope: { name: 'test', version: '', attributes: {} },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    ...rest
  }
}

function childOf (parent: Span, fields: Parameters<typeof span>[0]): Span {
  return span({ ...fields, traceId: parent.traceId, parentSpanId: parent.spanId })
}

const EVERY_SERVER_HAS_CLIENT_PARENT: [Selector, Selector] = [{ kind: 'server' }, { kind: 'client' }]
const RESENT_CLIENT: Selector = { kind: 'client', attributes: { 'http.request.resend_count': { gte: 1 } } }

describe('span index', () => {
  it('relates parents, children, links and traces, and leaves out re-sent copies', () => {
    const root = span({ name: 'root', kind: 'server', startMs: 10 })
    const late = childOf(root, { name: 'late', startMs: 30 })
    const early = childOf(root, { name: 'early', startMs: 20 })
    const other = span({ name: 'other', trace: 2, links: [
      { traceId: root.traceId, spanId: root.spanId, traceState: undefined, attributes: {} },
      { traceId: traceId(9), spanId: 'ffffffffffffffff', traceState: undefined, attributes: {} }
    ] })
    const index = indexSpans([root, late, early, other, { ...late }])

    expect(index.spans).toHaveLength(4)
    expect(index.duplicates).toBe(1)
    expect(index.spansOf(root.traceId).map(s => s.name)).toEqual(['root', 'early', 'late'])
    expect(index.spansOf(traceId(7))).toEqual([])
    expect(index.childrenOf(root).map(s => s.name)).toEqual(['early', 'late'])
    expect(index.parentOf(early)).toBe(root)
    expect(index.parentOf(root)).toBeUndefined()
    expect(index.linksOf(other).map(l => l.span?.name)).toEqual(['root', undefined])
    expect([...index.byName().keys()]).toEqual(['root', 'late', 'early', 'other'])
    expect([...groupByTrace([root, other, late]).keys()]).toEqual([root.traceId, other.traceId])
  })

  it('selects by name, kind, attributes, resource and status', () => {
    const spans = [
      span({ name: 'GET /api/wallet/list', kind: 'client', attributes: { 'http.request.resend_count': 2, 'http.response.status_code': 429 } }),
      span({ name: 'GET /api/wallet/list', kind: 'client', attributes: { 'http.response.status_code': 200, 'big': 9_007_199_254_740_993n } }),
      span({ name: 'POST /api/wallet/create', kind: 'client', status: { code: 'error', message: 'boom' }, attributes: { 'http.response.status_code': 503 } }),
      span({ name: 'wallet.created process', kind: 'consumer', resource: { 'service.name': 'worker' } })
    ]
    const names = (selector: Selector) => selectSpans(spans, selector).map(s => s.name + (s.attributes['http.response.status_code'] ?? ''))
    expect(names('GET /api/wallet/list')).toEqual(['GET /api/wallet/list429', 'GET /api/wallet/list200'])
    expect(names(/^POST/)).toEqual(['POST /api/wallet/create503'])
    expect(names({ kind: ['consumer', 'producer'] })).toEqual(['wallet.created process'])
    expect(names(RESENT_CLIENT)).toEqual(['GET /api/wallet/list429'])
    expect(names({ attributes: { 'http.request.resend_count': { exists: false }, 'http.response.status_code': { oneOf: [200, 503] } } })).toEqual(['GET /api/wallet/list200', 'POST /api/wallet/create503'])
    expect(names({ attributes: { 'http.response.status_code': { gte: 500, lt: 600 } } })).toEqual(['POST /api/wallet/create503'])
    expect(names({ attributes: { big: 9_007_199_254_740_993n } })).toEqual(['GET /api/wallet/list200'])
    expect(names({ attributes: { 'http.response.status_code': 429n } })).toEqual(['GET /api/wallet/list429'])
    expect(names({ attributes: { 'http.response.status_code': (v: unknown) => v === 200 } })).toEqual(['GET /api/wallet/list200'])
    expect(names({ status: 'error' })).toEqual(['POST /api/wallet/create503'])
    expect(names({ resource: { 'service.name': /^work/ } })).toEqual(['wallet.created process'])
    expect(names(s => s.kind === 'consumer')).toEqual(['wallet.created process'])
    expect(describeSelector(RESENT_CLIENT)).toBe('client spans with http.request.resend_count >=1')
  })
})

describe('trace assertions', () => {
  it('counts spans against bounds, and by default expects at least one', () => {
    const spans = [span({ name: 'a' }), span({ name: 'a' }), span({ name: 'b' })]
    expect(expectCount(spans, 'a').status).toBe('pass')
    expect(expectCount(spans, 'a', { exactly: 2 }).status).toBe('pass')
    expect(expectCount(spans, 'a', { max: 1 })).toMatchObject({ status: 'fail', summary: "Expected at most 1 'a' spans, found 2.", evidence: { count: 2 } })
    expect(expectCount(spans, 'c').status).toBe('fail')
    expect(expectCount(spans, 'c', { max: 0 }).status).toBe('pass')
  })

  it('checks attributes on every selected span, or on some, and never passes on nothing', () => {
    const spans = [
      span({ name: 'call', kind: 'client', attributes: { 'http.request.method': 'GET' } }),
      span({ name: 'call', kind: 'client', attributes: { 'http.request.method': 'get' } })
    ]
    const every = expectAttributes(spans, 'call', { 'http.request.method': /^[A-Z]+$/ })
    expect(every.status).toBe('fail')
    expect(every.evidence).toMatchObject({ selected: 2, offending: 1, offenders: [{ actual: { 'http.request.method': 'get' } }] })
    expect(expectAttributes(spans, 'call', { 'http.request.method': 'GET' }, { quantifier: 'some' }).status).toBe('pass')
    expect(expectAttributes(spans, 'missing', { x: 1 })).toMatchObject({ status: 'fail', evidence: { selected: 0 } })
    expect(expectAttributes(spans, 'missing', { x: 1 }, { allowNone: true }).status).toBe('pass')
  })

  it('passes "every server span has a parent client span in the same trace" only when each one does', () => {
    const client = span({ name: 'GET /api/wallet/list', kind: 'client' })
    const server = childOf(client, { name: 'GET /api/wallet/list', kind: 'server' })
    expect(expectChildOf([client, server], ...EVERY_SERVER_HAS_CLIENT_PARENT).status).toBe('pass')

    const orphan = span({ name: 'GET /health', kind: 'server', trace: 3, parentSpanId: 'abababababababab' })
    const internal = span({ name: 'middleware', trace: 4 })
    const underInternal = childOf(internal, { name: 'GET /x', kind: 'server' })
    const failed = expectChildOf([client, server, orphan, internal, underInternal], ...EVERY_SERVER_HAS_CLIENT_PARENT)
    expect(failed.status).toBe('fail')
    expect(failed.summary).toBe('2 of 3 server spans have no parent among client spans (1 without a received parent, 1 with another parent).')
    expect(failed.evidence).toMatchObject({
      withoutParent: 1,
      withOtherParent: 1,
      orphans: [{ spanId: orphan.spanId }],
      otherParents: [{ child: { spanId: underInternal.spanId }, parent: { name: 'middleware' } }]
    })
    expect(expectChildOf([client], ...EVERY_SERVER_HAS_CLIENT_PARENT).status).toBe('fail')
  })

  it('passes "a resent client span has a server child" only when the resend reached the server', () => {
    const first = span({ name: 'POST /api/wallet/create', kind: 'client', attributes: { 'http.response.status_code': 503 } })
    const resent = span({ name: 'POST /api/wallet/create', kind: 'client', attributes: { 'http.request.resend_count': 1 } })
    const served = childOf(resent, { name: 'POST /api/wallet/create', kind: 'server' })
    expect(expectHasChild([first, resent, served], RESENT_CLIENT, { kind: 'server' }, { quantifier: 'some' })).toMatchObject({
      status: 'pass',
      evidence: { withChild: 1, pairs: [{ parent: { spanId: resent.spanId }, child: { spanId: served.spanId } }] }
    })
    const lost = expectHasChild([first, resent], RESENT_CLIENT, { kind: 'server' }, { quantifier: 'some' })
    expect(lost.status).toBe('fail')
    expect(lost.evidence).toMatchObject({ withoutChild: 1, childless: [{ spanId: resent.spanId }] })
    const neverResent = expectHasChild([first], RESENT_CLIENT, { kind: 'server' }, { quantifier: 'some' })
    expect(neverResent.status).toBe('fail')
    expect(neverResent.summary).toBe('No client spans with http.request.resend_count >=1 were received: cannot show that they have server spans as children.')
  })

  it('follows span links to received spans', () => {
    const producer = span({ name: 'publish', kind: 'producer', trace: 5 })
    const link = { traceId: producer.traceId, spanId: producer.spanId, traceState: undefined, attributes: {} }
    const consumer = span({ name: 'process', kind: 'consumer', trace: 6, links: [link] })
    expect(expectLinkedTo([producer, consumer], { kind: 'consumer' }, { kind: 'producer' }).status).toBe('pass')
    const unlinked = expectLinkedTo([consumer], { kind: 'consumer' }, { kind: 'producer' })
    expect(unlinked.status).toBe('fail')
    expect(unlinked.evidence).toMatchObject({ unlinked: [{ links: [{ spanId: producer.spanId, received: false }] }] })
  })

  it('checks that one kind of span comes before another within each trace', () => {
    const auth = span({ name: 'auth', trace: 7, startMs: 100, lengthMs: 5 })
    const handler = span({ name: 'handler', trace: 7, startMs: 103, lengthMs: 5 })
    expect(expectOrder([auth, handler], 'auth', 'handler').status).toBe('pass')
    expect(expectOrder([auth, handler], 'auth', 'handler', { strict: true })).toMatchObject({ status: 'fail', evidence: { violations: 1 } })
    const reversed = expectOrder([auth, handler], 'handler', 'auth')
    expect(reversed.status).toBe('fail')
    expect(reversed.evidence).toMatchObject({ sample: [{ first: { name: 'handler' }, then: { name: 'auth' } }] })
    const elsewhere = span({ name: 'handler', trace: 8, startMs: 1 })
    expect(expectOrder([auth, elsewhere], 'auth', 'handler')).toMatchObject({ status: 'fail', evidence: { groupsCompared: 0 } })
    expect(expectOrder([auth, elsewhere], 'auth', 'handler', { within: 'all' }).status).toBe('fail')
  })

  it('checks durations against bounds', () => {
    const spans = [span({ name: 'db', lengthMs: 3 }), span({ name: 'db', lengthMs: 250 })]
    expect(expectDuration(spans, 'db', { maxMs: 300 }).status).toBe('pass')
    const slow = expectDuration(spans, 'db', { maxMs: 100 })
    expect(slow).toMatchObject({ status: 'fail', evidence: { outside: 1, minMs: 3, maxMs: 250 } })
    expect(expectDuration(spans, 'db', { maxMs: 100 }, { quantifier: 'some' }).status).toBe('pass')
  })

  it('passes "no messaging.message.id processed twice" unless two distinct consumer spans share one', () => {
    const consumer = (id: string | undefined, t: number) => span({ name: 'wallet.created process', kind: 'consumer', trace: t, attributes: id === undefined ? {} : { 'messaging.message.id': id } })
    const once = [consumer('evt_1', 1), consumer('evt_2', 2)]
    const resentBatch = [...once, { ...once[0] as Span }]
    const unique = expectUnique(resentBatch, { kind: 'consumer' }, 'messaging.message.id')
    expect(unique).toMatchObject({ status: 'pass', evidence: { distinct: 2, duplicatesLeftOut: 1 } })

    const twice = expectUnique([...once, consumer('evt_1', 3)], { kind: 'consumer' }, 'messaging.message.id')
    expect(twice.status).toBe('fail')
    expect(twice.summary).toBe('1 messaging.message.id value(s) appear on more than one of the consumer spans.')
    expect(twice.evidence).toMatchObject({ repeated: [{ value: 'evt_1', spans: [{ traceId: traceId(1) }, { traceId: traceId(3) }] }] })

    const unknown = [...once, consumer(undefined, 4)]
    expect(expectUnique(unknown, { kind: 'consumer' }, 'messaging.message.id')).toMatchObject({ status: 'fail', evidence: { missingKey: 1 } })
    expect(expectUnique(unknown, { kind: 'consumer' }, 'messaging.message.id', { missing: 'ignore' }).status).toBe('pass')
  })

  it('produces evidence that survives JSON', () => {
    const spans = [span({ name: 'x', attributes: { n: 2n ** 63n - 1n, raw: new Uint8Array([1, 2]) } }), span({ name: 'x', attributes: { n: 2n ** 63n - 1n } })]
    const outcome = expectUnique(spans, 'x', 'n')
    expect(JSON.parse(JSON.stringify(outcome))).toMatchObject({ status: 'fail', evidence: { repeated: [{ value: '9223372036854775807' }] } })
    expect(() => JSON.stringify(expectAttributes(spans, 'x', { raw: { exists: true } }))).not.toThrow()
  })
})

describe('trace assertions on spans received from the real exporter', () => {
  let receiver: OtlpReceiver | undefined
  afterEach(async () => { await receiver?.close() })

  it('judges a client run end to end: retries reach the server, and an event processed twice is caught', async () => {
    receiver = await createOtlpReceiver()
    const exporter = new OTLPTraceExporter({ url: receiver.tracesUrl })
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'tenzro-client' }),
      spanProcessors: [new SimpleSpanProcessor({ exporter })]
    })
    const tracer = provider.getTracer('assert-test')
    for (const resend of [0, 1]) {
      const client = tracer.startSpan('POST /api/wallet/create', { kind: SpanKind.CLIENT, attributes: resend === 0 ? {} : { 'http.request.resend_count': resend } })
      tracer.startSpan('POST /api/wallet/create', { kind: SpanKind.SERVER }, trace.setSpan(context.active(), client)).end()
      client.end()
    }
    for (const id of ['evt_1', 'evt_2', 'evt_1']) {
      tracer.startSpan('wallet.created process', { kind: SpanKind.CONSUMER, attributes: { 'messaging.message.id': id } }).end()
    }
    await provider.forceFlush()
    await provider.shutdown()

    const index = indexSpans(receiver.spans())
    expect(index.spans).toHaveLength(7)
    expect(expectChildOf(index, ...EVERY_SERVER_HAS_CLIENT_PARENT).status).toBe('pass')
    expect(expectHasChild(index, RESENT_CLIENT, { kind: 'server' }, { quantifier: 'some' }).status).toBe('pass')
    const twice = expectUnique(index, { kind: 'consumer' }, 'messaging.message.id')
    expect(twice.status).toBe('fail')
    expect(twice.evidence).toMatchObject({ selected: 3, distinct: 2, repeated: [{ value: 'evt_1' }] })
  })
})
