// The receiver's protobuf check on the wire format (harness/src/otlp/wire.ts) against the decoded
// check it stands in for (span.ts checkExportRequest on a protobufjs decode): same verdicts, and
// nothing accepted that protobufjs cannot decode. Payloads come from the real SDK serializer.
import { describe, expect, it } from 'vitest'
import { SpanKind, SpanStatusCode, trace, ROOT_CONTEXT } from '@opentelemetry/api'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { ExportTraceServiceRequest } from '../src/otlp/proto.ts'
import { checkExportRequest } from '../src/otlp/span.ts'
import { scanExportRequest } from '../src/otlp/wire.ts'

function sdkPayload (): Buffer {
  const memory = new InMemorySpanExporter()
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'wire-test', 'service.instance.number': 3 }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })]
  })
  const tracer = provider.getTracer('wire', '1.0.0')
  const root = tracer.startSpan('GET /api/wallet/list', {
    kind: SpanKind.SERVER,
    attributes: { s: 'x', i: 42, n: -7, d: 2.5, b: true, a: ['a', 'b'], m: { k: { deep: [1, 2] } }, bytes: new Uint8Array([0, 255]) }
  })
  root.addEvent('retry', { 'retry.after_ms': 1000 })
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' })
  const child = tracer.startSpan('child', { links: [{ context: root.spanContext(), attributes: { why: 'test' } }] }, trace.setSpan(ROOT_CONTEXT, root))
  child.end()
  root.end()
  return Buffer.from(ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans())!)
}

/** The decoded check, or the error protobufjs throws. */
function decodedVerdict (payload: Uint8Array) {
  let message: unknown
  try {
    message = ExportTraceServiceRequest.decode(payload)
  } catch {
    return { decodes: false as const }
  }
  const checked = checkExportRequest(message, false)
  if (!checked.ok) return { decodes: true as const, ok: false }
  return { decodes: true as const, ok: true, accepted: checked.accepted, rejected: checked.rejected, problems: checked.problems }
}

const TRACE = Buffer.from('5b8efff798038103d269b633813fc60c', 'hex')
const SPAN = Buffer.from('eee19b7ec3c1b174', 'hex')

function encode (spans: object[]): Buffer {
  return Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject({
    resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'raw' } }] }, scopeSpans: [{ scope: { name: 'raw' }, spans }] }]
  })).finish())
}

describe('scanExportRequest', () => {
  it('counts the spans of an SDK export as the decoded check does', () => {
    const payload = sdkPayload()
    expect(scanExportRequest(payload)).toEqual({ ok: true, accepted: 2, rejected: 0, problems: [] })
    expect(decodedVerdict(payload)).toMatchObject({ ok: true, accepted: 2, rejected: 0 })
  })

  it('rejects spans with missing, short, zero or bad link ids with the same messages as the decoded check', () => {
    const payload = encode([
      { traceId: TRACE, spanId: SPAN, name: 'valid' },
      { spanId: SPAN, name: 'no trace id' },
      { traceId: Buffer.alloc(5, 1), spanId: SPAN, name: 'short' },
      { traceId: TRACE, spanId: Buffer.alloc(8), name: 'zero span id' },
      { traceId: TRACE, spanId: SPAN, parentSpanId: Buffer.alloc(3, 1), name: 'bad parent' },
      { traceId: TRACE, spanId: SPAN, name: 'bad link', links: [{ traceId: TRACE, spanId: SPAN }, { traceId: TRACE, spanId: Buffer.alloc(2, 1) }] },
      { traceId: TRACE, spanId: SPAN, parentSpanId: Buffer.alloc(0), name: 'empty parent is a root' }
    ])
    const scanned = scanExportRequest(payload)
    expect(scanned).toEqual({ ok: true, accepted: 2, rejected: 5, problems: decodedVerdict(payload).problems })
    expect(scanned.ok && scanned.problems[0]).toBe("resourceSpans[0].scopeSpans[0].spans[1] ('no trace id'): traceId is missing")
  })

  it('never accepts a truncated payload that protobufjs cannot decode, and agrees on those it can', () => {
    const payload = sdkPayload()
    for (let length = 0; length < payload.length; length++) {
      const prefix = payload.subarray(0, length)
      const scanned = scanExportRequest(prefix)
      if (!scanned.ok) continue
      const decoded = decodedVerdict(prefix)
      expect(decoded.decodes, `prefix of ${length} bytes`).toBe(true)
      expect(decoded, `prefix of ${length} bytes`).toMatchObject({ ok: true, accepted: scanned.accepted, rejected: scanned.rejected })
    }
  })

  it('refuses a known field with the wrong wire type, field number 0, and a bad wire type', () => {
    // Field 1 (resource_spans) as a varint; field 0; wire type 7.
    for (const bytes of [[0x08, 0x01], [0x02, 0x00], [0x0f]]) {
      const scanned = scanExportRequest(Buffer.from(bytes))
      expect(scanned.ok, JSON.stringify(bytes)).toBe(false)
    }
    // A span whose trace id (field 1 of Span) is sent as a varint.
    const bad = Buffer.from([0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x08, 0x01])
    expect(scanExportRequest(bad)).toMatchObject({ ok: false, message: 'field 1 of Span has wire type 0, expected 2' })
  })

  it('skips unknown fields, groups included, as protobufjs does', () => {
    const payload = Buffer.concat([Buffer.from([0xa8, 0x01, 0x05, 0x13, 0x08, 0x01, 0x14]), encode([{ traceId: TRACE, spanId: SPAN }])])
    expect(scanExportRequest(payload)).toEqual({ ok: true, accepted: 1, rejected: 0, problems: [] })
    expect(decodedVerdict(payload)).toMatchObject({ ok: true, accepted: 1 })
  })
})
