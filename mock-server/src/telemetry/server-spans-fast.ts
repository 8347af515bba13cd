// SERVER spans written straight into the span sink's slots (span-sink.ts): the same span the SDK path
// makes (server-spans.ts), for a few stores per request. The SDK's own sampler decides (so
// OTEL_TRACES_SAMPLER[_ARG] mean what they mean); ids are 128/64 random bits as the SDK's generator
// makes them, from a pool refilled by the CSPRNG. A span starts lazily: at the response, with the
// request's start time (request.state.startNs), unless a PRODUCER or stream span needs it as a parent
// first. No span object exists for a request nobody asked about.
import { randomFillSync } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import {
  ROOT_CONTEXT, SamplingDecision, SpanKind, trace,
  type Attributes, type Context, type Link, type SpanContext, type TraceState
} from '@opentelemetry/api'
import { looksSecret } from '../pipeline/secrets.ts'
import * as L from './span-layout.ts'
import * as N from './names.ts'
import { redactPath, redactQuery, safeName } from './redact.ts'
import { createHostParser, createSpanNames, KNOWN_METHODS, safeUserAgent, type ServerSpans } from './server-spans.ts'
import type { SpanSink } from './span-sink.ts'
import { parseTraceContext } from './trace-context.ts'

/** What the sampler must offer (the SDK's Sampler interface). */
export interface SpanSampler {
  shouldSample (context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): { decision: SamplingDecision, traceState?: TraceState | undefined }
}

/** A SERVER span not ended yet: what the slot will need, and its context for children. */
export class FastServerSpan {
  traceId: string
  spanId: string
  parent: SpanContext | undefined
  traceState: TraceState | undefined
  /** RECORD_AND_SAMPLED: exported; anything else only propagates. */
  sampled: boolean
  /** process.hrtime ns. */
  startNs: number
  name: string
  route: string | undefined

  constructor (traceId: string, spanId: string, parent: SpanContext | undefined, traceState: TraceState | undefined, sampled: boolean, startNs: number, name: string, route: string | undefined) {
    this.traceId = traceId
    this.spanId = spanId
    this.parent = parent
    this.traceState = traceState
    this.sampled = sampled
    this.startNs = startNs
    this.name = name
    this.route = route
  }

  spanContext (): SpanContext {
    return { traceId: this.traceId, spanId: this.spanId, traceFlags: this.sampled ? 1 : 0, traceState: this.traceState, isRemote: false }
  }
}

/** Marks a request whose SERVER span has ended (an event stream's, at its 200). */
const ENDED = Object.freeze(new FastServerSpan('', '', undefined, undefined, false, 0, '', undefined))
const NO_ATTRIBUTES: Attributes = Object.freeze({}) as Attributes
const NO_LINKS: Link[] = Object.freeze([]) as unknown as Link[]

const HEX = new Int8Array(128)
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i
}
/** Lower-case hex (ids are checked or made here) into bytes. */
function hexInto (hex: string, u8: Uint8Array, at: number): void {
  for (let i = 0; i < hex.length; i += 2) u8[at + (i >> 1)] = (HEX[hex.charCodeAt(i)]! << 4) | HEX[hex.charCodeAt(i + 1)]!
}

function allZero (b: Buffer, from: number, n: number): boolean {
  for (let i = from; i < from + n; i++) if (b[i] !== 0) return false
  return true
}

/**
 * Random trace and span ids from a CSPRNG pool refilled every ~2,700 spans: `take` reserves bytes, and
 * the caller reads them (as hex, or copied into a slot) before the next take.
 */
function createIdPool () {
  const pool = Buffer.allocUnsafe(64 * 1024)
  let at = pool.length
  return {
    pool,
    /**
     * The offset of 24 fresh random bytes: a trace id (16) and a span id (8), neither all zero (the
     * invalid ids, W3C Trace Context 3.2.2.3 and 3.2.2.4).
     */
    take (): number {
      for (;;) {
        if (at + 24 > pool.length) {
          randomFillSync(pool)
          at = 0
        }
        const o = at
        at += 24
        if (!allZero(pool, o, 16) && !allZero(pool, o + 16, 8)) return o
      }
    }
  }
}

interface RouteRefs { nameRef: number, methodRef: number, methodOriginalRef: number, routeRef: number }

export function createFastServerSpans (sink: SpanSink, sampler: SpanSampler): ServerSpans {
  const spanName = createSpanNames()
  const parseHost = createHostParser()
  const ids = createIdPool()
  const pool = ids.pool
  const routes = new Map<string, Map<string | undefined, RouteRefs>>()
  let routeCount = 0
  // Values that repeat request after request, with their references: compared before any lookup.
  let lastUa: string | undefined
  let lastUaRef = L.NONE
  let lastIp: string | undefined
  let lastIpRef = L.NONE
  let lastAddress: string | undefined
  let lastAddressRef = L.NONE
  let lastTenant: string | undefined
  let lastTenantRef = L.NONE
  let lastKey: string | undefined
  let lastKeyRef = L.NONE

  // The span being decided, when no object holds it (the common case: nothing asked for it as a
  // parent). decide() fills these, write() reads them in the same turn, before the pool moves on.
  let traceId = ''
  /** Pool offset of 24 random bytes: a new trace id (16, unless continued) and the span id (8). */
  let idOff = 0
  let parent: SpanContext | undefined
  let traceState: TraceState | undefined
  let sampled = false
  let startNs = 0
  let name = ''
  let route: string | undefined

  function decide (request: FastifyRequest): void {
    const s = request.state
    route = s !== null && s !== undefined ? s.route : request.routeOptions.url
    name = spanName(request.method, route)
    const h = request.headers
    const tp = h.traceparent
    parent = tp === undefined ? undefined : parseTraceContext(tp, h.tracestate)
    idOff = ids.take()
    traceId = parent === undefined ? pool.toString('hex', idOff, idOff + 16) : parent.traceId
    const r = sampler.shouldSample(parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parent), traceId, name, SpanKind.SERVER, NO_ATTRIBUTES, NO_LINKS)
    sampled = r.decision === SamplingDecision.RECORD_AND_SAMPLED
    traceState = r.traceState ?? parent?.traceState
    startNs = s !== null && s !== undefined ? Number(s.startNs) : Number(process.hrtime.bigint())
  }

  /** The decided span as an object, for a request whose span is a parent before it ends. */
  function hold (): FastServerSpan {
    return new FastServerSpan(traceId, pool.toString('hex', idOff + 16, idOff + 24), parent, traceState, sampled, startNs, name, route)
  }

  function spanOf (request: FastifyRequest): FastServerSpan {
    let span = request.tenzroSpan as FastServerSpan | null
    if (span === null) {
      decide(request)
      span = hold()
      request.tenzroSpan = span
    }
    return span
  }

  function refsOf (method: string): RouteRefs {
    let byRoute = routes.get(method)
    if (byRoute === undefined) {
      byRoute = new Map()
      routes.set(method, byRoute)
    }
    let r = byRoute.get(route)
    if (r !== undefined) return r
    const known = KNOWN_METHODS.has(method)
    r = {
      nameRef: sink.shared(name),
      methodRef: sink.shared(known ? method : '_OTHER'),
      methodOriginalRef: known ? L.NONE : sink.shared(looksSecret(method) ? N.REDACTED : method),
      routeRef: route === undefined ? L.NONE : sink.shared(route)
    }
    // Kept only while they are shared references (the shared table is bounded) and the routes few.
    if (r.nameRef >= 0 && r.methodRef >= 0 && r.methodOriginalRef >= L.NONE && r.routeRef >= L.NONE && routeCount < 1000) {
      byRoute.set(route, r)
      routeCount++
    }
    return r
  }

  /**
   * The record's trace id, and the span's slot when it is sampled: from `span`, or from the decided
   * span when `span` is null.
   */
  function close (request: FastifyRequest, span: FastServerSpan | null, status: number): void {
    if (span !== null) {
      traceId = span.traceId
      parent = span.parent
      traceState = span.traceState
      sampled = span.sampled
      startNs = span.startNs
      name = span.name
      route = span.route
    }
    const s = request.state
    // The record's traceId column (contract 7.3): the caller's trace when it sent one.
    if (s !== null && s !== undefined) s.traceId = traceId
    if (!sampled) return
    const b = sink.slot()
    if (b < 0) return
    const u8 = sink.u8
    const i = b >> 2
    const f = b >> 3
    const i32 = sink.i32
    const f64 = sink.f64
    let flags = L.FLAG_SAMPLED
    if (parent !== undefined) {
      hexInto(parent.traceId, u8, b + L.TRACE_ID)
      hexInto(parent.spanId, u8, b + L.PARENT_SPAN_ID)
      flags |= L.FLAG_HAS_PARENT | L.FLAG_PARENT_REMOTE
    } else if (span !== null) {
      hexInto(traceId, u8, b + L.TRACE_ID)
    } else {
      for (let k = 0; k < 16; k++) u8[b + L.TRACE_ID + k] = pool[idOff + k]!
    }
    if (span !== null) hexInto(span.spanId, u8, b + L.SPAN_ID)
    else for (let k = 0; k < 8; k++) u8[b + L.SPAN_ID + k] = pool[idOff + 16 + k]!
    i32[i + L.I_FLAGS] = flags
    i32[i + L.I_TRACE_STATE] = traceState === undefined ? L.NONE : sink.value(traceState.serialize())
    f64[f + L.F_START] = startNs
    f64[f + L.F_END] = Number(process.hrtime.bigint())
    i32[i + L.I_STATUS] = status

    const r = refsOf(request.method)
    i32[i + L.I_NAME] = r.nameRef
    i32[i + L.I_METHOD] = r.methodRef
    i32[i + L.I_METHOD_ORIGINAL] = r.methodOriginalRef
    i32[i + L.I_ROUTE] = r.routeRef
    const url = request.raw.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    // A static route's path is the route itself: nothing to redact, and shared.
    i32[i + L.I_PATH] = path === route ? r.routeRef : sink.value(redactPath(path))
    i32[i + L.I_QUERY] = q === -1 ? L.NONE : sink.value(redactQuery(url.slice(q + 1)))
    const scheme = request.protocol ?? 'http'
    i32[i + L.I_SCHEME] = sink.shared(scheme)
    const h = request.headers
    const host = h.host
    const a = host === undefined ? undefined : parseHost(host, scheme === 'https' ? 443 : 80)
    if (a === undefined || a.address === undefined) {
      i32[i + L.I_ADDRESS] = L.NONE
      i32[i + L.I_PORT] = 0
    } else {
      if (a.address !== lastAddress || lastAddressRef < 0) {
        lastAddress = a.address
        lastAddressRef = sink.shared(a.address)
      }
      i32[i + L.I_ADDRESS] = lastAddressRef
      i32[i + L.I_PORT] = a.port
    }
    const ip = request.ip
    if (ip !== lastIp || lastIpRef < L.NONE) {
      lastIp = ip
      lastIpRef = ip === undefined ? L.NONE : sink.shared(ip)
    }
    i32[i + L.I_CLIENT] = lastIpRef
    const ua = h['user-agent']
    if (ua !== lastUa || lastUaRef < L.NONE) {
      lastUa = ua
      lastUaRef = ua === undefined ? L.NONE : sink.shared(safeUserAgent(ua))
    }
    i32[i + L.I_USER_AGENT] = lastUaRef

    let tenant = L.NONE
    let keyId = L.NONE
    let allowed = -1
    let faults = L.NONE
    let code = L.NONE
    if (s !== null && s !== undefined) {
      const auth = s.auth
      if (auth !== undefined) {
        if (auth.tenantId !== lastTenant || lastTenantRef < 0) {
          lastTenant = auth.tenantId
          lastTenantRef = sink.shared(auth.tenantId)
        }
        if (auth.keyId !== lastKey || lastKeyRef < 0) {
          lastKey = auth.keyId
          lastKeyRef = sink.shared(auth.keyId)
        }
        tenant = lastTenantRef
        keyId = lastKeyRef
      } else if (s.keyRef !== undefined && s.keyRef.startsWith('key_')) {
        // A refused key is named by its id only; the 12-char prefix the record may hold is not for spans.
        keyId = sink.shared(s.keyRef)
      }
      const rl = s.rateLimit
      if (rl !== undefined) {
        allowed = rl.allowed ? 1 : 0
        f64[f + L.F_RL_REMAINING] = rl.remaining
      }
      const labels = s.faults?.labels
      if (labels !== undefined && labels.length > 0) faults = sink.sharedArray('\u0000fault\u0000' + labels.join('\u0000'), labels.map(safeName))
      const c = s.errorCode ?? s.authCode
      if (c !== undefined) code = sink.shared(c)
    }
    i32[i + L.I_TENANT] = tenant
    i32[i + L.I_KEY_ID] = keyId
    i32[i + L.I_RL_ALLOWED] = allowed
    i32[i + L.I_FAULTS] = faults
    i32[i + L.I_ERROR_CODE] = code
    sink.commit()
  }

  return {
    start: undefined,
    end (request, status) {
      const span = request.tenzroSpan as FastServerSpan | null
      if (span === ENDED) return
      request.tenzroSpan = ENDED
      if (span === null) decide(request)
      close(request, span, status)
    },
    endForStream (request) {
      const span = spanOf(request)
      if (span === ENDED) return undefined
      request.tenzroSpan = ENDED
      close(request, span, 200)
      return trace.setSpanContext(ROOT_CONTEXT, span.spanContext())
    },
    parent (request) {
      const span = spanOf(request)
      return span === ENDED ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, span.spanContext())
    }
  }
}
