// One span model for both OTLP encodings, and the two phases that produce it.
//
// Phase 1, `checkExportRequest`, runs before the receiver answers: it walks the decoded request,
// refuses a malformed document (400) and sets aside spans that cannot be trusted (bad ids,
// wrong JSON types), so the answer can carry `partial_success` (OTLP spec, "Partial Success").
// It only compares lengths and types. Phase 2, `normaliseBatch`, builds the Span objects (hex
// ids, bigint times, attribute maps) later, when someone reads the spans, so a load test pays
// for the conversion once, at the end, and not on every export.
//
// Protobuf messages decoded by protobufjs and OTLP/JSON documents share lowerCamelCase field
// names, so one walker reads both; only the leaves differ (OTLP spec, "JSON Protobuf Encoding"):
//   ids          bytes (Uint8Array)          | hex string, case-insensitive (not base64)
//   int64/fixed64 Long {low, high, unsigned} | number or decimal string
//   enums        number                      | number (names accepted too)
//   bytesValue   bytes                       | base64 string

export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer'
export type StatusCodeName = 'unset' | 'ok' | 'error'

/**
 * An attribute value. Integers outside Number's safe range stay exact as bigint; an empty
 * AnyValue is null; kvlist values become plain objects.
 */
export type AttributeValue =
  | string | number | boolean | bigint | Uint8Array | null
  | AttributeValue[]
  | { [key: string]: AttributeValue }

export type Attributes = Record<string, AttributeValue>

export interface SpanEvent {
  name: string
  timeUnixNano: bigint
  attributes: Attributes
}

export interface SpanLink {
  traceId: string
  spanId: string
  traceState: string | undefined
  attributes: Attributes
}

export interface InstrumentationScope {
  name: string
  version: string
  attributes: Attributes
}

export interface Span {
  /** 32 lowercase hex chars. */
  traceId: string
  /** 16 lowercase hex chars. */
  spanId: string
  /** undefined on a root span. */
  parentSpanId: string | undefined
  traceState: string | undefined
  /** W3C trace flags in the low 8 bits, OTLP's is-remote bits above (trace.proto Span.flags). */
  flags: number
  name: string
  /** SPAN_KIND_UNSPECIFIED is read as 'internal', as trace.proto allows. */
  kind: SpanKindName
  startTimeUnixNano: bigint
  endTimeUnixNano: bigint
  /** (end - start) in milliseconds, fractional. Negative when the sender's clock went back. */
  durationMs: number
  attributes: Attributes
  events: SpanEvent[]
  links: SpanLink[]
  status: { code: StatusCodeName, message: string }
  /** Resource attributes, shared by reference between spans of one ResourceSpans. */
  resource: Attributes
  scope: InstrumentationScope
  droppedAttributesCount: number
  droppedEventsCount: number
  droppedLinksCount: number
}

/** Spans of one ScopeSpans that passed phase 1, still in their decoded form. */
export interface PendingBatch {
  resource: unknown
  scope: unknown
  spans: unknown[]
}

export type CheckedRequest =
  | { ok: true, batches: PendingBatch[], accepted: number, rejected: number, problems: string[] }
  | { ok: false, message: string }

type Raw = Record<string, unknown>

const KINDS: readonly SpanKindName[] = ['internal', 'internal', 'server', 'client', 'producer', 'consumer']
const KIND_NAMES = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER']
const STATUS_CODES: readonly StatusCodeName[] = ['unset', 'ok', 'error']
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR']
const HEX_RE = /^[0-9a-fA-F]*$/
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/
const U64_RE = /^\d{1,20}$/
const I64_RE = /^-?\d{1,19}$/
const U64_MAX = (1n << 64n) - 1n
const MAX_PROBLEMS = 3
const MAX_DEPTH = 32

function isObj (v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

function isLong (v: unknown): v is { low: number, high: number, unsigned?: boolean } {
  return typeof v === 'object' && v !== null && typeof (v as Raw).low === 'number' && typeof (v as Raw).high === 'number'
}

/** An own, non-null field: protobufjs keeps unset fields' defaults on the prototype. */
function field (o: Raw, key: string): unknown {
  if (!Object.hasOwn(o, key)) return undefined
  const v = o[key]
  return v === null ? undefined : v
}

// ---------------------------------------------------------------------------------------------
// Phase 1: structure and ids, before the answer.

/**
 * Checks a decoded ExportTraceServiceRequest. `json` selects the looser JSON rules (types are
 * not guaranteed by a decoder there). A document whose skeleton is wrong is refused whole; a
 * span that is wrong is counted as rejected and left out.
 */
export function checkExportRequest (msg: unknown, json: boolean): CheckedRequest {
  if (!isObj(msg)) return { ok: false, message: 'the body is not an ExportTraceServiceRequest object' }
  const resourceSpans = msg.resourceSpans
  if (resourceSpans === undefined || resourceSpans === null) {
    return { ok: true, batches: [], accepted: 0, rejected: 0, problems: [] }
  }
  if (!Array.isArray(resourceSpans)) return { ok: false, message: 'resourceSpans must be an array' }
  const batches: PendingBatch[] = []
  const problems: string[] = []
  let accepted = 0
  let rejected = 0
  for (let r = 0; r < resourceSpans.length; r++) {
    const rs: unknown = resourceSpans[r]
    if (!isObj(rs)) return { ok: false, message: `resourceSpans[${r}] must be an object` }
    const resource = rs.resource
    if (json && resource !== undefined && resource !== null && !isObj(resource)) {
      return { ok: false, message: `resourceSpans[${r}].resource must be an object` }
    }
    const scopeSpans = rs.scopeSpans
    if (scopeSpans === undefined || scopeSpans === null) continue
    if (!Array.isArray(scopeSpans)) return { ok: false, message: `resourceSpans[${r}].scopeSpans must be an array` }
    for (let s = 0; s < scopeSpans.length; s++) {
      const ss: unknown = scopeSpans[s]
      if (!isObj(ss)) return { ok: false, message: `resourceSpans[${r}].scopeSpans[${s}] must be an object` }
      const spans = ss.spans
      if (spans === undefined || spans === null) continue
      if (!Array.isArray(spans)) return { ok: false, message: `resourceSpans[${r}].scopeSpans[${s}].spans must be an array` }
      let kept: unknown[] = spans
      for (let i = 0; i < spans.length; i++) {
        const problem = spanProblem(spans[i], json)
        if (problem === undefined) {
          if (kept !== spans) kept.push(spans[i])
          continue
        }
        if (kept === spans) kept = spans.slice(0, i)
        rejected++
        if (problems.length < MAX_PROBLEMS) problems.push(`resourceSpans[${r}].scopeSpans[${s}].spans[${i}]${spanLabel(spans[i])}: ${problem}`)
      }
      if (kept.length > 0) {
        accepted += kept.length
        batches.push({ resource, scope: ss.scope, spans: kept })
      }
    }
  }
  return { ok: true, batches, accepted, rejected, problems }
}

function spanLabel (span: unknown): string {
  if (!isObj(span) || typeof span.name !== 'string' || span.name === '') return ''
  const name = span.name.length > 60 ? span.name.slice(0, 60) + '…' : span.name
  return ` ('${name}')`
}

function spanProblem (span: unknown, json: boolean): string | undefined {
  if (!isObj(span)) return 'a span must be an object'
  const idProblem = idCheck(span.traceId, 16, 'traceId', json, false) ??
    idCheck(span.spanId, 8, 'spanId', json, false) ??
    idCheck(span.parentSpanId, 8, 'parentSpanId', json, true)
  if (idProblem !== undefined) return idProblem
  if (json) {
    if (span.name !== undefined && typeof span.name !== 'string') return 'name must be a string'
    if (span.kind !== undefined && enumIndex(span.kind, KIND_NAMES) === undefined) return `kind ${JSON.stringify(span.kind)} is not a SpanKind (send 0-5)`
    for (const key of ['startTimeUnixNano', 'endTimeUnixNano']) {
      if (span[key] !== undefined && toU64(span[key]) === undefined) return `${key} must be an unsigned 64-bit integer, as a number or a decimal string`
    }
    for (const key of ['attributes', 'events', 'links']) {
      if (span[key] !== undefined && span[key] !== null && !Array.isArray(span[key])) return `${key} must be an array`
    }
    const status = span.status
    if (status !== undefined && status !== null) {
      if (!isObj(status)) return 'status must be an object'
      if (status.code !== undefined && enumIndex(status.code, STATUS_NAMES) === undefined) return `status.code ${JSON.stringify(status.code)} is not a StatusCode (send 0-2)`
    }
  }
  const links = span.links
  if (Array.isArray(links)) {
    for (let i = 0; i < links.length; i++) {
      const link: unknown = links[i]
      if (!isObj(link)) return `links[${i}] must be an object`
      const problem = idCheck(link.traceId, 16, `links[${i}].traceId`, json, false) ?? idCheck(link.spanId, 8, `links[${i}].spanId`, json, false)
      if (problem !== undefined) return problem
    }
  }
  return undefined
}

/** trace.proto: ids of another length, or all zeroes, are invalid; parentSpanId may be empty. */
function idCheck (v: unknown, bytes: number, what: string, json: boolean, optional: boolean): string | undefined {
  // protobufjs leaves an unset bytes field as the prototype's default, an empty array.
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return optional ? undefined : `${what} is missing`
  if (v instanceof Uint8Array) {
    if (v.length === 0 && optional) return undefined
    if (v.length !== bytes) return `${what} is ${v.length} bytes, expected ${bytes}`
    for (let i = 0; i < v.length; i++) if (v[i] !== 0) return undefined
    return `${what} is all zeroes`
  }
  if (typeof v === 'string' && json) {
    if (v.length === 0 && optional) return undefined
    if (v.length !== bytes * 2 || !HEX_RE.test(v)) {
      const base64 = v.length === Math.ceil(bytes / 3) * 4 && BASE64_RE.test(v)
      return `${what} ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)} is not ${bytes * 2} hex chars` +
        (base64 ? '; it looks base64-encoded, but OTLP/JSON sends ids as hex' : '')
    }
    for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) !== 48) return undefined
    return `${what} is all zeroes`
  }
  return `${what} must be ${json ? 'a hex string' : 'bytes'}`
}

function enumIndex (v: unknown, names: readonly string[]): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined
  if (typeof v === 'string') {
    const i = names.indexOf(v)
    return i === -1 ? undefined : i
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Phase 2: the Span model.

/** Builds the spans of one checked batch and appends them to `out`. */
export function normaliseBatch (batch: PendingBatch, out: Span[]): void {
  const resource = isObj(batch.resource) ? attributesOf(batch.resource.attributes) : {}
  const rawScope = isObj(batch.scope) ? batch.scope : {}
  const scope: InstrumentationScope = {
    name: str(rawScope.name),
    version: str(rawScope.version),
    attributes: attributesOf(rawScope.attributes)
  }
  for (const raw of batch.spans) out.push(normaliseSpan(raw as Raw, resource, scope))
}

function normaliseSpan (raw: Raw, resource: Attributes, scope: InstrumentationScope): Span {
  const start = toU64(raw.startTimeUnixNano) ?? 0n
  const end = toU64(raw.endTimeUnixNano) ?? 0n
  const status = isObj(raw.status) ? raw.status : {}
  const parent = raw.parentSpanId
  return {
    traceId: toHex(raw.traceId),
    spanId: toHex(raw.spanId),
    parentSpanId: parent === undefined || parent === null || (parent as { length: number }).length === 0 ? undefined : toHex(parent),
    traceState: optionalStr(raw.traceState),
    flags: typeof raw.flags === 'number' ? raw.flags >>> 0 : 0,
    name: str(raw.name),
    kind: KINDS[enumIndex(raw.kind, KIND_NAMES) ?? 1] ?? 'internal',
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    durationMs: Number(end - start) / 1e6,
    attributes: attributesOf(raw.attributes),
    events: Array.isArray(raw.events) ? raw.events.map(eventOf) : [],
    links: Array.isArray(raw.links) ? raw.links.map(linkOf) : [],
    status: {
      code: STATUS_CODES[enumIndex(status.code, STATUS_NAMES) ?? 0] ?? 'unset',
      message: str(status.message)
    },
    resource,
    scope,
    droppedAttributesCount: count(raw.droppedAttributesCount),
    droppedEventsCount: count(raw.droppedEventsCount),
    droppedLinksCount: count(raw.droppedLinksCount)
  }
}

function eventOf (raw: unknown): SpanEvent {
  const e = isObj(raw) ? raw : {}
  return { name: str(e.name), timeUnixNano: toU64(e.timeUnixNano) ?? 0n, attributes: attributesOf(e.attributes) }
}

function linkOf (raw: unknown): SpanLink {
  const l = raw as Raw
  return { traceId: toHex(l.traceId), spanId: toHex(l.spanId), traceState: optionalStr(l.traceState), attributes: attributesOf(l.attributes) }
}

function toHex (v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('hex')
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')
  return typeof v === 'string' ? v.toLowerCase() : ''
}

function str (v: unknown): string {
  return typeof v === 'string' ? v : ''
}

function optionalStr (v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}

function count (v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}

function toU64 (v: unknown): bigint | undefined {
  if (v === undefined || v === null) return 0n
  // A JSON number past 2^53 has already lost precision in JSON.parse; take it as sent.
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v < 2 ** 64 ? BigInt(v) : undefined
  if (typeof v === 'string') {
    if (!U64_RE.test(v)) return undefined
    const n = BigInt(v)
    return n <= U64_MAX ? n : undefined
  }
  if (isLong(v)) return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0)
  return undefined
}

function toI64 (v: unknown): number | bigint | null {
  let n: bigint
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v
    if (!Number.isInteger(v)) return null
    n = BigInt(v)
  } else if (typeof v === 'string' && I64_RE.test(v)) {
    n = BigInt(v)
  } else if (isLong(v)) {
    n = BigInt.asIntN(64, (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0))
  } else {
    return null
  }
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n
}

function toDouble (v: unknown): number | null {
  if (typeof v === 'number') return v
  if (typeof v === 'string') {
    // proto3 JSON writes non-finite doubles as strings.
    if (v === 'NaN') return NaN
    if (v === 'Infinity') return Infinity
    if (v === '-Infinity') return -Infinity
    const n = Number(v)
    return v.trim() !== '' && Number.isFinite(n) ? n : null
  }
  return null
}

function attributesOf (list: unknown): Attributes {
  const out: Attributes = {}
  if (!Array.isArray(list)) return out
  for (const kv of list) {
    if (!isObj(kv) || typeof kv.key !== 'string') continue
    setKey(out, kv.key, anyValue(kv.value, 0))
  }
  return out
}

// An attribute named __proto__ must stay data, not replace the object's prototype.
function setKey (o: Attributes, key: string, value: AttributeValue): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true })
  else o[key] = value
}

function anyValue (v: unknown, depth: number): AttributeValue {
  if (!isObj(v) || depth > MAX_DEPTH) return null
  let x = field(v, 'stringValue')
  if (x !== undefined) return typeof x === 'string' ? x : null
  x = field(v, 'boolValue')
  if (x !== undefined) return x === true
  x = field(v, 'intValue')
  if (x !== undefined) return toI64(x)
  x = field(v, 'doubleValue')
  if (x !== undefined) return toDouble(x)
  x = field(v, 'arrayValue')
  if (x !== undefined) {
    const values = isObj(x) ? x.values : undefined
    return Array.isArray(values) ? values.map(item => anyValue(item, depth + 1)) : []
  }
  x = field(v, 'kvlistValue')
  if (x !== undefined) {
    const out: { [key: string]: AttributeValue } = {}
    const values = isObj(x) ? x.values : undefined
    if (Array.isArray(values)) {
      for (const kv of values) if (isObj(kv) && typeof kv.key === 'string') setKey(out, kv.key, anyValue(kv.value, depth + 1))
    }
    return out
  }
  x = field(v, 'bytesValue')
  if (x !== undefined) {
    // Copy: a decoded protobuf field is a view into the whole request body.
    if (x instanceof Uint8Array) return new Uint8Array(x)
    if (typeof x === 'string') return new Uint8Array(Buffer.from(x, 'base64'))
    return null
  }
  return null
}
