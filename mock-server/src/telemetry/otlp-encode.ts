// OTLP/protobuf for batches of SERVER span slots (span-layout.ts): an ExportTraceServiceRequest
// (opentelemetry-proto, trace/v1/trace.proto and collector/trace/v1/trace_service.proto) written
// straight from the slots, with the resource, the scope and every attribute key encoded once. Field
// for field what the SDK's ProtobufTraceSerializer writes for the same span (flags 16 with the
// is-remote bits, an UNSET status, zero dropped counts), so a collector cannot tell the two apart.
// Runs on the export worker (span-worker.ts); pure, so tests decode its output with protobufjs.
import * as L from './span-layout.ts'
import * as N from './names.ts'
import { keyValues, tag, utf8, varintSize, Writer } from './protobuf-writer.ts'

/** The encoded attribute keys of a SERVER span, in the order the SDK path sets them. */
const KEYS = Object.fromEntries([
  N.ATTR_HTTP_REQUEST_METHOD, N.ATTR_HTTP_REQUEST_METHOD_ORIGINAL, N.ATTR_URL_PATH, N.ATTR_URL_QUERY, N.ATTR_URL_SCHEME,
  N.ATTR_HTTP_ROUTE, N.ATTR_SERVER_ADDRESS, N.ATTR_SERVER_PORT, N.ATTR_CLIENT_ADDRESS, N.ATTR_USER_AGENT_ORIGINAL,
  N.ATTR_HTTP_RESPONSE_STATUS_CODE, N.ATTR_TENZRO_TENANT_ID, N.ATTR_TENZRO_KEY_ID, N.ATTR_TENZRO_RATELIMIT_ALLOWED,
  N.ATTR_TENZRO_RATELIMIT_REMAINING, N.ATTR_TENZRO_FAULT, N.ATTR_TENZRO_ERROR_CODE, N.ATTR_ERROR_TYPE
].map((k) => [k, utf8.encode(k)])) as Record<string, Uint8Array>

/** A reference's value encoded: UTF-8 bytes, or one per element for a string array. */
type Encoded = Uint8Array | Uint8Array[]

export interface ServerSpanEncoder {
  /** One ExportTraceServiceRequest holding the batch's spans. */
  encode (batch: L.SpanBatch): Uint8Array
}

export function createServerSpanEncoder (init: L.EncoderInit): ServerSpanEncoder {
  const maxLen = init.attributeValueLengthLimit
  const maxAttrs = init.attributeCountLimit
  const offset = BigInt(init.hrOffsetNs)
  const cut = (s: string) => (Number.isFinite(maxLen) && s.length > maxLen ? s.slice(0, maxLen) : s)
  const encodeValue = (v: L.RefValue): Encoded => (typeof v === 'string' ? utf8.encode(cut(v)) : v.map((s) => utf8.encode(cut(s))))

  // Resource and scope, encoded once: the head of every ResourceSpans and ScopeSpans.
  const head = new Writer()
  keyValues(head, 1, init.resource.attributes)
  head.byte(tag(2, 0)) // dropped_attributes_count, as the SDK writes it
  head.byte(0)
  const resource = head.take()
  head.pos = 0
  head.byte(tag(1, 2))
  head.lenBytes(utf8.encode(init.scope.name))
  if (init.scope.version !== undefined && init.scope.version !== '') {
    head.byte(tag(2, 2))
    head.lenBytes(utf8.encode(init.scope.version))
  }
  const scope = head.take()
  const resourceSchema = init.resource.schemaUrl === undefined || init.resource.schemaUrl === '' ? undefined : utf8.encode(init.resource.schemaUrl)
  const scopeSchema = init.scope.schemaUrl === undefined || init.scope.schemaUrl === '' ? undefined : utf8.encode(init.scope.schemaUrl)

  const shared: Encoded[] = []
  let w = new Writer()
  const out = new Writer()
  let values: Encoded[] = []
  let attrs = 0
  let dropped = 0
  let limit = maxAttrs
  // Unix ns = offset + hrtime ns, summed in two 32-bit halves (exact without a BigInt per span).
  const offHi = Number(offset >> 32n)
  const offLo = Number(offset & 0xffffffffn)

  function ref (r: number): Encoded | undefined {
    if (r === L.NONE) return undefined
    return r >= 0 ? shared[r] : values[-(r + 2)]
  }

  /** Start a KeyValue (span field 9); false when the count limit drops it. */
  function key (k: Uint8Array, valueSize: number): boolean {
    if (attrs >= limit) { dropped++; return false }
    attrs++
    const anyLen = valueSize
    const kvLen = 1 + varintSize(k.length) + k.length + 1 + varintSize(anyLen) + anyLen
    w.byte(tag(9, 2))
    w.varint(kvLen)
    w.byte(tag(1, 2))
    w.lenBytes(k)
    w.byte(tag(2, 2))
    w.varint(anyLen)
    return true
  }

  function str (k: Uint8Array, v: Encoded | undefined): void {
    if (v === undefined) return
    if (!(v instanceof Uint8Array)) { strArray(k, v); return }
    if (!key(k, 1 + varintSize(v.length) + v.length)) return
    w.byte(tag(1, 2))
    w.lenBytes(v)
  }

  function strArray (k: Uint8Array, v: Encoded): void {
    const items = v instanceof Uint8Array ? [v] : v
    let inner = 0
    for (const s of items) {
      const any = 1 + varintSize(s.length) + s.length
      inner += 1 + varintSize(any) + any
    }
    if (!key(k, 1 + varintSize(inner) + inner)) return
    w.byte(tag(5, 2))
    w.varint(inner)
    for (const s of items) {
      w.byte(tag(1, 2))
      w.varint(1 + varintSize(s.length) + s.length)
      w.byte(tag(1, 2))
      w.lenBytes(s)
    }
  }

  // Whole KeyValue fields for the values that repeat: a shared reference's, or a small int's (status
  // code, port), encoded at first use and copied after that.
  const kvCache = new Map<Uint8Array, Array<Uint8Array | undefined>>()
  const scratch = new Writer()
  function cached (k: Uint8Array, index: number, isInt: boolean): void {
    let byIndex = kvCache.get(k)
    if (byIndex === undefined) {
      byIndex = []
      kvCache.set(k, byIndex)
    }
    let kv = byIndex[index]
    if (kv === undefined) {
      const saved = w
      const savedAttrs = attrs
      w = scratch
      scratch.pos = 0
      limit = Infinity
      if (isInt) int(k, index)
      else str(k, shared[index])
      kv = scratch.take()
      w = saved
      attrs = savedAttrs
      limit = maxAttrs
      byIndex[index] = kv
    }
    if (attrs >= limit) { dropped++; return }
    attrs++
    w.bytes(kv)
  }

  /** A string (array) attribute by reference. */
  function sref (k: Uint8Array, r: number): void {
    if (r < 0) str(k, ref(r))
    else if (shared[r] !== undefined) cached(k, r, false)
  }

  function smallInt (k: Uint8Array, v: number): void {
    if (v < 0 || v > 65535) { int(k, v); return }
    cached(k, v, true)
  }

  function time (hrNs: number): void {
    let lo = offLo + (hrNs % 4294967296)
    const hi = offHi + Math.floor(hrNs / 4294967296) + Math.floor(lo / 4294967296)
    lo %= 4294967296
    w.fixed32(lo)
    w.fixed32(hi)
  }

  function int (k: Uint8Array, v: number): void {
    // A negative int64 is ten bytes on the wire (two's complement).
    if (!key(k, 1 + (v < 0 ? 10 : varintSize(v)))) return
    w.byte(tag(3, 0))
    w.int64(v)
  }

  function bool (k: Uint8Array, v: boolean): void {
    if (!key(k, 2)) return
    w.byte(tag(2, 0))
    w.byte(v ? 1 : 0)
  }

  // The attributes from http.request.method to tenzro.key.id repeat from span to span under load (one
  // client, one route, one key): when a span's references and status are those of the last run
  // written, that run's bytes are copied. Only runs of shared references are kept (a batch value
  // differs from span to span), and none across batches.
  const RUN_FIRST = L.I_METHOD
  const RUN_LAST = L.I_KEY_ID
  const runRefs = new Int32Array(RUN_LAST - RUN_FIRST + 1)
  let runStatus = -1
  let runStart = 0
  let runEnd = 0
  let runAttrs = 0
  let runDropped = 0

  function sameRun (i32: Int32Array, i: number, status: number): boolean {
    if (runEnd === runStart || status !== runStatus) return false
    for (let k = RUN_FIRST; k <= RUN_LAST; k++) if (i32[i + k] !== runRefs[k - RUN_FIRST]) return false
    return true
  }

  function writeRun (i32: Int32Array, i: number, status: number): void {
    const start = w.pos
    sref(KEYS[N.ATTR_HTTP_REQUEST_METHOD]!, i32[i + L.I_METHOD]!)
    sref(KEYS[N.ATTR_HTTP_REQUEST_METHOD_ORIGINAL]!, i32[i + L.I_METHOD_ORIGINAL]!)
    sref(KEYS[N.ATTR_URL_PATH]!, i32[i + L.I_PATH]!)
    sref(KEYS[N.ATTR_URL_QUERY]!, i32[i + L.I_QUERY]!)
    sref(KEYS[N.ATTR_URL_SCHEME]!, i32[i + L.I_SCHEME]!)
    sref(KEYS[N.ATTR_HTTP_ROUTE]!, i32[i + L.I_ROUTE]!)
    const address = i32[i + L.I_ADDRESS]!
    if (address !== L.NONE) {
      sref(KEYS[N.ATTR_SERVER_ADDRESS]!, address)
      smallInt(KEYS[N.ATTR_SERVER_PORT]!, i32[i + L.I_PORT]!)
    }
    sref(KEYS[N.ATTR_CLIENT_ADDRESS]!, i32[i + L.I_CLIENT]!)
    sref(KEYS[N.ATTR_USER_AGENT_ORIGINAL]!, i32[i + L.I_USER_AGENT]!)
    smallInt(KEYS[N.ATTR_HTTP_RESPONSE_STATUS_CODE]!, status)
    sref(KEYS[N.ATTR_TENZRO_TENANT_ID]!, i32[i + L.I_TENANT]!)
    sref(KEYS[N.ATTR_TENZRO_KEY_ID]!, i32[i + L.I_KEY_ID]!)
    let reusable = true
    for (let k = RUN_FIRST; k <= RUN_LAST; k++) {
      const r = i32[i + k]!
      runRefs[k - RUN_FIRST] = r
      if (k !== L.I_PORT && r < L.NONE) reusable = false
    }
    runStatus = status
    runStart = start
    runEnd = reusable ? w.pos : start
    runAttrs = attrs
    runDropped = dropped
  }

  function span (u8: Uint8Array, i32: Int32Array, f64: Float64Array, slot: number): void {
    const b = slot * L.SLOT_BYTES
    const i = b >> 2
    const f = b >> 3
    const flags = i32[i + L.I_FLAGS]!
    w.byte(tag(2, 2))
    const at = w.begin()
    w.byte(tag(1, 2))
    w.byte(16)
    w.bytes(u8.subarray(b + L.TRACE_ID, b + L.TRACE_ID + 16))
    w.byte(tag(2, 2))
    w.byte(8)
    w.bytes(u8.subarray(b + L.SPAN_ID, b + L.SPAN_ID + 8))
    const ts = ref(i32[i + L.I_TRACE_STATE]!)
    if (ts instanceof Uint8Array && ts.length > 0) {
      w.byte(tag(3, 2))
      w.lenBytes(ts)
    }
    if ((flags & L.FLAG_HAS_PARENT) !== 0) {
      w.byte(tag(4, 2))
      w.byte(8)
      w.bytes(u8.subarray(b + L.PARENT_SPAN_ID, b + L.PARENT_SPAN_ID + 8))
    }
    const name = ref(i32[i + L.I_NAME]!)
    w.byte(tag(5, 2))
    w.lenBytes(name instanceof Uint8Array ? name : new Uint8Array(0))
    w.byte(tag(6, 0))
    w.byte(2) // SPAN_KIND_SERVER
    w.byte(tag(7, 1))
    time(f64[f + L.F_START]!)
    w.byte(tag(8, 1))
    time(f64[f + L.F_END]!)

    attrs = 0
    dropped = 0
    const status = i32[i + L.I_STATUS]!
    if (sameRun(i32, i, status)) {
      const len = runEnd - runStart
      w.ensure(len)
      w.buf.copyWithin(w.pos, runStart, runEnd)
      w.pos += len
      attrs = runAttrs
      dropped = runDropped
    } else {
      writeRun(i32, i, status)
    }
    const allowed = i32[i + L.I_RL_ALLOWED]!
    if (allowed !== -1) {
      bool(KEYS[N.ATTR_TENZRO_RATELIMIT_ALLOWED]!, allowed === 1)
      int(KEYS[N.ATTR_TENZRO_RATELIMIT_REMAINING]!, f64[f + L.F_RL_REMAINING]!)
    }
    sref(KEYS[N.ATTR_TENZRO_FAULT]!, i32[i + L.I_FAULTS]!)
    sref(KEYS[N.ATTR_TENZRO_ERROR_CODE]!, i32[i + L.I_ERROR_CODE]!)
    // Semconv http: a SERVER span is an error for 5xx only.
    const error = status >= 500
    if (error) str(KEYS[N.ATTR_ERROR_TYPE]!, utf8.encode(String(status)))

    w.byte(tag(10, 0))
    w.varint(dropped)
    w.byte(tag(12, 0))
    w.byte(0)
    w.byte(tag(14, 0))
    w.byte(0)
    w.byte(tag(15, 2))
    w.byte(2)
    w.byte(tag(3, 0))
    w.byte(error ? 2 : 0) // STATUS_CODE_ERROR : STATUS_CODE_UNSET
    // Span.flags (16, fixed32): trace flags, and whether the parent's is-remote is known and true.
    w.varint(tag(16, 5))
    w.fixed32(((flags & L.FLAG_SAMPLED) !== 0 ? 1 : 0) | 0x100 | ((flags & L.FLAG_PARENT_REMOTE) !== 0 ? 0x200 : 0))
    // A span whose length is not a two-byte varint moves its bytes, and the run kept with them.
    if (varintSize(w.pos - at - 2) !== 2) runEnd = runStart = 0
    w.end(at)
  }

  return {
    encode (batch: L.SpanBatch): Uint8Array {
      for (const [id, v] of batch.defs) shared[id] = encodeValue(v)
      values = batch.values.map(encodeValue)
      const u8 = new Uint8Array(batch.buf)
      const i32 = new Int32Array(batch.buf)
      const f64 = new Float64Array(batch.buf)
      w.pos = 0
      runEnd = runStart = 0
      for (let s = 0; s < batch.n; s++) span(u8, i32, f64, s)
      values = []

      // ScopeSpans = scope, spans, schema; ResourceSpans = resource, scope spans, schema.
      const scopeSpansLen = 1 + varintSize(scope.length) + scope.length + w.pos +
        (scopeSchema === undefined ? 0 : 1 + varintSize(scopeSchema.length) + scopeSchema.length)
      const resourceSpansLen = 1 + varintSize(resource.length) + resource.length + 1 + varintSize(scopeSpansLen) + scopeSpansLen +
        (resourceSchema === undefined ? 0 : 1 + varintSize(resourceSchema.length) + resourceSchema.length)
      out.pos = 0
      out.ensure(resourceSpansLen + 16)
      out.byte(tag(1, 2))
      out.varint(resourceSpansLen)
      out.byte(tag(1, 2))
      out.lenBytes(resource)
      out.byte(tag(2, 2))
      out.varint(scopeSpansLen)
      out.byte(tag(1, 2))
      out.lenBytes(scope)
      out.bytes(w.buf.subarray(0, w.pos))
      if (scopeSchema !== undefined) {
        out.byte(tag(3, 2))
        out.lenBytes(scopeSchema)
      }
      if (resourceSchema !== undefined) {
        out.byte(tag(3, 2))
        out.lenBytes(resourceSchema)
      }
      return out.take()
    }
  }
}
