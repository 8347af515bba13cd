// Phase 1 for OTLP/protobuf without decoding: walks an ExportTraceServiceRequest on the protobuf
// wire format (https://protobuf.dev/programming-guides/encoding/), checks that every message the
// receiver knows is well formed, counts the spans and finds the invalid ones, and builds no object
// per span. The receiver answers from this; protobufjs decodes the same bytes later, and only when
// someone reads the spans (span.ts phase 2), so a load test that keeps none (maxSpans 0) never does.
//
// It is stricter than protobufjs where protobufjs is lenient, so anything it accepts decodes there:
// a known field with the wrong wire type, a nested message longer than its parent, field number 0
// and nesting deeper than MAX_DEPTH are malformed. Unknown fields are skipped, groups included.
// The verdict on each span matches checkExportRequest(msg, false) in span.ts: same checks, same order,
// same messages.

export type ScannedRequest =
  | { ok: true, accepted: number, rejected: number, problems: string[] }
  | { ok: false, message: string }

const VARINT = 0
const I64 = 1
const LEN = 2
const SGROUP = 3
const EGROUP = 4
const I32 = 5
const MAX_PROBLEMS = 3
const MAX_DEPTH = 64

class WireError extends Error {}

/** A message the walker checks field by field: field number -> wire type, and the message a LEN field holds. */
interface Shape {
  name: string
  wireTypes: number[]
  children: (Shape | undefined)[]
}

function shape (name: string, fields: Record<number, number | Shape>): Shape {
  const s: Shape = { name, wireTypes: [], children: [] }
  for (const [n, f] of Object.entries(fields)) {
    s.wireTypes[Number(n)] = typeof f === 'number' ? f : LEN
    s.children[Number(n)] = typeof f === 'number' ? undefined : f
  }
  return s
}

// common.proto, resource.proto and the leaves of trace.proto (proto.ts has the full definitions).
const ANY_VALUE: Shape = shape('AnyValue', { 1: LEN, 2: VARINT, 3: VARINT, 4: I64, 7: LEN })
const KEY_VALUE = shape('KeyValue', { 1: LEN, 2: ANY_VALUE })
const ARRAY_VALUE = shape('ArrayValue', { 1: ANY_VALUE })
const KV_LIST = shape('KeyValueList', { 1: KEY_VALUE })
ANY_VALUE.wireTypes[5] = LEN
ANY_VALUE.children[5] = ARRAY_VALUE
ANY_VALUE.wireTypes[6] = LEN
ANY_VALUE.children[6] = KV_LIST
const RESOURCE = shape('Resource', { 1: KEY_VALUE, 2: VARINT })
const SCOPE = shape('InstrumentationScope', { 1: LEN, 2: LEN, 3: KEY_VALUE, 4: VARINT })
const EVENT = shape('Span.Event', { 1: I64, 2: LEN, 3: KEY_VALUE, 4: VARINT })
const STATUS = shape('Status', { 2: LEN, 3: VARINT })
const LINK = shape('Span.Link', { 1: LEN, 2: LEN, 3: LEN, 4: KEY_VALUE, 5: VARINT, 6: I32 })
const SPAN = shape('Span', {
  1: LEN, 2: LEN, 3: LEN, 4: LEN, 5: LEN, 6: VARINT, 7: I64, 8: I64, 9: KEY_VALUE, 10: VARINT,
  11: EVENT, 12: VARINT, 13: LINK, 14: VARINT, 15: STATUS, 16: I32
})
const SCOPE_SPANS = shape('ScopeSpans', { 1: SCOPE, 2: SPAN, 3: LEN })
const RESOURCE_SPANS = shape('ResourceSpans', { 1: RESOURCE, 2: SCOPE_SPANS, 3: LEN })
const EMPTY = new Uint8Array(0)

// The walk is synchronous and never re-entered, so the buffer and position live here.
let b: Uint8Array = EMPTY
let pos = 0

function fail (message: string): never {
  throw new WireError(message)
}

/** A varint as a non-negative number (lengths, tags); bits past 2^53 are dropped, as for a length they are absurd anyway. */
function varint (end: number): number {
  if (pos >= end) fail(`truncated varint at byte ${pos}`)
  let byte = b[pos++]!
  if (byte < 0x80) return byte
  let value = byte & 0x7f
  let scale = 0x80
  for (let i = 1; i < 10; i++) {
    if (pos >= end) fail(`truncated varint at byte ${pos}`)
    byte = b[pos++]!
    value += (byte & 0x7f) * scale
    if (byte < 0x80) return value
    scale *= 0x80
  }
  return fail(`invalid varint encoding at byte ${pos}`)
}

/** The end of the LEN field that starts at pos (its length already read), within `end`. */
function lenEnd (end: number): number {
  const length = varint(end)
  const e = pos + length
  if (e > end) fail(`a field of ${length} bytes at byte ${pos} runs past the end of its message`)
  return e
}

function skip (wireType: number, end: number, depth: number): void {
  switch (wireType) {
    case VARINT: varint(end); return
    case I64: pos += 8; break
    case LEN: pos = lenEnd(end); return
    case I32: pos += 4; break
    case SGROUP: {
      if (depth > MAX_DEPTH) fail('groups nested too deep')
      let tag = varint(end)
      while ((tag & 7) !== EGROUP) {
        skip(tag & 7, end, depth + 1)
        tag = varint(end)
      }
      return
    }
    default: fail(`invalid wire type ${wireType} at byte ${pos}`)
  }
  if (pos > end) fail(`a fixed-width field runs past the end of its message at byte ${end}`)
}

/** Reads the next tag and returns its field number, checking it against `s` (a wrong wire type is malformed). */
function tagOf (s: Shape, end: number, depth: number): number {
  const tag = varint(end)
  const field = Math.floor(tag / 8)
  const wireType = tag & 7
  if (field === 0) fail(`field number 0 in ${s.name} at byte ${pos}`)
  const want = s.wireTypes[field]
  if (want === undefined) {
    skip(wireType, end, depth)
    return 0
  }
  if (wireType !== want) fail(`field ${field} of ${s.name} has wire type ${wireType}, expected ${want}`)
  return field
}

/** Checks a whole message of shape `s` that ends at `end`. */
function walk (s: Shape, end: number, depth: number): void {
  if (depth > MAX_DEPTH) fail(`messages nested deeper than ${MAX_DEPTH}`)
  while (pos < end) {
    const field = tagOf(s, end, depth)
    if (field === 0) continue
    const wireType = s.wireTypes[field]!
    if (wireType === LEN) {
      const e = lenEnd(end)
      const child = s.children[field]
      if (child === undefined) pos = e
      else walk(child, e, depth + 1)
    } else {
      skip(wireType, end, depth)
    }
  }
}

// Where the ids of the span being walked are: start offset, or -1 when absent (protobuf: last one wins).
let traceIdAt = -1
let traceIdLen = 0
let spanIdAt = -1
let spanIdLen = 0
let parentAt = -1
let parentLen = 0
let nameAt = -1
let nameLen = 0

/** span.ts idCheck for bytes: absent, wrong length or all zeroes is invalid; parentSpanId may be empty. */
function idProblem (at: number, length: number, bytes: number, what: string, optional: boolean): string | undefined {
  if (at === -1) return optional ? undefined : `${what} is missing`
  if (length === 0 && optional) return undefined
  if (length !== bytes) return `${what} is ${length} bytes, expected ${bytes}`
  for (let i = at; i < at + length; i++) if (b[i] !== 0) return undefined
  return `${what} is all zeroes`
}

function utf8 (at: number, length: number): string {
  return Buffer.from(b.buffer, b.byteOffset + at, length).toString('utf8')
}

/** The first problem of link `index` (its ids), walking it to `end`. */
function linkProblem (end: number, depth: number, index: number): string | undefined {
  let tAt = -1
  let tLen = 0
  let sAt = -1
  let sLen = 0
  while (pos < end) {
    const field = tagOf(LINK, end, depth)
    if (field === 0) continue
    const wireType = LINK.wireTypes[field]!
    if (wireType !== LEN) {
      skip(wireType, end, depth)
      continue
    }
    const e = lenEnd(end)
    if (field === 1) {
      tAt = pos
      tLen = e - pos
    } else if (field === 2) {
      sAt = pos
      sLen = e - pos
    } else if (field === 4) {
      walk(KEY_VALUE, e, depth + 1)
    }
    pos = e
  }
  return idProblem(tAt, tLen, 16, `links[${index}].traceId`, false) ?? idProblem(sAt, sLen, 8, `links[${index}].spanId`, false)
}

/** Walks one Span to `end`; returns its problem (span.ts spanProblem) or undefined. */
function spanProblem (end: number, depth: number): string | undefined {
  traceIdAt = spanIdAt = parentAt = nameAt = -1
  let links = 0
  let linkFirstProblem: string | undefined
  while (pos < end) {
    const field = tagOf(SPAN, end, depth)
    if (field === 0) continue
    const wireType = SPAN.wireTypes[field]!
    if (wireType !== LEN) {
      skip(wireType, end, depth)
      continue
    }
    const e = lenEnd(end)
    switch (field) {
      case 1: traceIdAt = pos; traceIdLen = e - pos; break
      case 2: spanIdAt = pos; spanIdLen = e - pos; break
      case 4: parentAt = pos; parentLen = e - pos; break
      case 5: nameAt = pos; nameLen = e - pos; break
      case 13: {
        const problem = linkProblem(e, depth + 1, links++)
        if (linkFirstProblem === undefined) linkFirstProblem = problem
        break
      }
      default: {
        const child = SPAN.children[field]
        if (child !== undefined) walk(child, e, depth + 1)
      }
    }
    pos = e
  }
  return idProblem(traceIdAt, traceIdLen, 16, 'traceId', false) ??
    idProblem(spanIdAt, spanIdLen, 8, 'spanId', false) ??
    idProblem(parentAt, parentLen, 8, 'parentSpanId', true) ??
    linkFirstProblem
}

function spanLabel (): string {
  if (nameAt === -1 || nameLen === 0) return ''
  const name = utf8(nameAt, nameLen)
  return ` ('${name.length > 60 ? name.slice(0, 60) + '…' : name}')`
}

/**
 * Checks a protobuf ExportTraceServiceRequest (trace_service.proto) without decoding it: malformed
 * bytes give `ok: false` (answer 400); spans with invalid ids are counted as rejected, with at most
 * three problems described, as checkExportRequest does for a decoded request.
 */
export function scanExportRequest (payload: Uint8Array): ScannedRequest {
  b = payload
  pos = 0
  let accepted = 0
  let rejected = 0
  const problems: string[] = []
  try {
    const end = payload.length
    let r = 0
    while (pos < end) {
      const tag = varint(end)
      if (tag < 8) fail(`field number 0 in ExportTraceServiceRequest at byte ${pos}`)
      if (tag !== (1 << 3 | LEN)) {
        if (Math.floor(tag / 8) === 1) fail(`field 1 of ExportTraceServiceRequest has wire type ${tag & 7}, expected ${LEN}`)
        skip(tag & 7, end, 0)
        continue
      }
      const rsEnd = lenEnd(end)
      const rIndex = r++
      let s = 0
      while (pos < rsEnd) {
        const field = tagOf(RESOURCE_SPANS, rsEnd, 1)
        if (field === 0) continue
        const e = lenEnd(rsEnd)
        if (field === 1) {
          walk(RESOURCE, e, 2)
        } else if (field === 2) {
          const sIndex = s++
          let i = 0
          while (pos < e) {
            const f = tagOf(SCOPE_SPANS, e, 2)
            if (f === 0) continue
            const fe = lenEnd(e)
            if (f === 1) {
              walk(SCOPE, fe, 3)
            } else if (f === 2) {
              const problem = spanProblem(fe, 3)
              if (problem === undefined) {
                accepted++
              } else {
                rejected++
                if (problems.length < MAX_PROBLEMS) problems.push(`resourceSpans[${rIndex}].scopeSpans[${sIndex}].spans[${i}]${spanLabel()}: ${problem}`)
              }
              i++
            }
            pos = fe
          }
        }
        pos = e
      }
    }
  } catch (err) {
    if (err instanceof WireError) return { ok: false, message: err.message }
    throw err
  } finally {
    b = EMPTY
  }
  return { ok: true, accepted, rejected, problems }
}

