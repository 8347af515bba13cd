// The SERVER span of each request, as plugins/telemetry.ts drives it: started with the request,
// ended at its response (or at an event stream's 200), parent of the request's PRODUCER and stream
// spans. Two ways to make it: through the SDK's tracer (here), or straight into the span sink's
// slots (server-spans-fast.ts), which is what `tenzro-mock` does when it exports OTLP/HTTP protobuf.
// Both set the same attributes from the same facts, in the same order.
import type { FastifyRequest } from 'fastify'
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api'
import { looksSecret } from '../pipeline/secrets.ts'
import * as N from './names.ts'
import { redactPath, redactQuery, safeName } from './redact.ts'
import { extractContext } from './trace-context.ts'

export interface ServerSpans {
  /** The onRequest hook's work when spans start with the request; undefined when they start lazily. */
  readonly start: ((request: FastifyRequest) => void) | undefined
  /** End the request's SERVER span (onResponse); sets the record's trace id. */
  end (request: FastifyRequest, status: number): void
  /** End it with an event stream's 200, and return it as the parent of the stream's span. */
  endForStream (request: FastifyRequest): Context | undefined
  /** The request's SERVER span as a parent context (started now if spans start lazily). */
  parent (request: FastifyRequest): Context
}

export const KNOWN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'QUERY'])
const HOST = /^(?:\[([0-9A-Fa-f:.]{2,45})\]|([A-Za-z0-9.-]{1,253}))(?::(\d{1,5}))?$/

/** `{method} {http.route}`, or the method alone when no route matched: one string per route, made once. */
export function createSpanNames () {
  const names = new Map<string, Map<string, string>>()
  return function spanName (method: string, route: string | undefined): string {
    if (route === undefined) return method
    // Route strings are the router's own, so both lookups hash a string V8 has hashed before.
    let byRoute = names.get(method)
    if (byRoute === undefined) {
      byRoute = new Map()
      names.set(method, byRoute)
    }
    let n = byRoute.get(route)
    if (n === undefined) {
      n = method + ' ' + route
      byRoute.set(route, n)
    }
    return n
  }
}

/** server.address/port from the Host header (semconv http server), parsed once per distinct value. */
export function createHostParser () {
  const h = { host: undefined as string | undefined, address: undefined as string | undefined, port: 0 }
  return function parse (host: string, defaultPort: number): { address: string | undefined, port: number } {
    if (host === h.host) return h
    h.host = host
    const m = HOST.exec(host)
    if (m === null || looksSecret(host)) {
      h.address = undefined
      return h
    }
    h.address = m[1] ?? m[2]
    h.port = m[3] === undefined ? defaultPort : Number(m[3])
    return h
  }
}

/** user_agent.original as a span may hold it. */
export function safeUserAgent (ua: string): string {
  return ua.length <= 512 && !looksSecret(ua) ? ua : N.REDACTED
}

const SERVER = Object.freeze({ kind: SpanKind.SERVER })

/**
 * SERVER spans through the SDK's tracer. `unsafe` (config.unsafeDisableRedaction, a test switch)
 * captures every request header and the raw URL.
 */
export function createSdkServerSpans (tracer: Tracer, unsafe: boolean): ServerSpans {
  const spanName = createSpanNames()
  const parseHost = createHostParser()
  const spanOf = (request: FastifyRequest) => request.tenzroSpan as Span | null

  function setRequestAttributes (request: FastifyRequest, span: Span, route: string | undefined, method: string): void {
    const h = request.headers
    const url = request.raw.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const scheme = request.protocol ?? 'http'
    const known = KNOWN_METHODS.has(method)
    span.setAttribute(N.ATTR_HTTP_REQUEST_METHOD, known ? method : '_OTHER')
    if (!known) span.setAttribute(N.ATTR_HTTP_REQUEST_METHOD_ORIGINAL, looksSecret(method) ? N.REDACTED : method)
    // A static route's path is the route itself: nothing to redact.
    span.setAttribute(N.ATTR_URL_PATH, path === route || unsafe ? path : redactPath(path))
    if (q !== -1) span.setAttribute(N.ATTR_URL_QUERY, unsafe ? url.slice(q + 1) : redactQuery(url.slice(q + 1)))
    span.setAttribute(N.ATTR_URL_SCHEME, scheme)
    if (route !== undefined) span.setAttribute(N.ATTR_HTTP_ROUTE, route)
    const host = h.host
    if (host !== undefined) {
      const a = parseHost(host, scheme === 'https' ? 443 : 80)
      if (a.address !== undefined) {
        span.setAttribute(N.ATTR_SERVER_ADDRESS, a.address)
        span.setAttribute(N.ATTR_SERVER_PORT, a.port)
      }
    }
    const ip = request.ip
    if (ip !== undefined) span.setAttribute(N.ATTR_CLIENT_ADDRESS, ip)
    const ua = h['user-agent']
    if (ua !== undefined) span.setAttribute(N.ATTR_USER_AGENT_ORIGINAL, unsafe ? ua : safeUserAgent(ua))
    if (unsafe) {
      for (const [name, value] of Object.entries(h)) {
        if (value !== undefined) span.setAttribute('http.request.header.' + name, Array.isArray(value) ? value : [value])
      }
    }
  }

  /** What the other plugins learned about the request (request.state), then end. */
  function endServerSpan (request: FastifyRequest, span: Span, status: number): void {
    const s = request.state
    if (s !== null && s !== undefined) {
      // The record's traceId column (contract 7.3): the caller's trace when it sent one.
      s.traceId = span.spanContext().traceId
      if (span.isRecording()) {
        span.setAttribute(N.ATTR_HTTP_RESPONSE_STATUS_CODE, status)
        const auth = s.auth
        if (auth !== undefined) {
          span.setAttribute(N.ATTR_TENZRO_TENANT_ID, auth.tenantId)
          span.setAttribute(N.ATTR_TENZRO_KEY_ID, auth.keyId)
        } else if (s.keyRef !== undefined && s.keyRef.startsWith('key_')) {
          // A refused key is named by its id only; the 12-char prefix the record may hold is not for spans.
          span.setAttribute(N.ATTR_TENZRO_KEY_ID, s.keyRef)
        }
        const rl = s.rateLimit
        if (rl !== undefined) {
          span.setAttribute(N.ATTR_TENZRO_RATELIMIT_ALLOWED, rl.allowed)
          span.setAttribute(N.ATTR_TENZRO_RATELIMIT_REMAINING, rl.remaining)
        }
        const faults = s.faults
        if (faults !== undefined && faults.labels.length > 0) span.setAttribute(N.ATTR_TENZRO_FAULT, faults.labels.map(safeName))
        const code = s.errorCode ?? s.authCode
        if (code !== undefined) span.setAttribute(N.ATTR_TENZRO_ERROR_CODE, code)
      }
    } else if (span.isRecording()) {
      span.setAttribute(N.ATTR_HTTP_RESPONSE_STATUS_CODE, status)
    }
    // Semconv http: a SERVER span is an error for 5xx only; 4xx is the client's error.
    if (status >= 500) {
      span.setAttribute(N.ATTR_ERROR_TYPE, String(status))
      span.setStatus({ code: SpanStatusCode.ERROR })
    }
    span.end()
  }

  return {
    start (request) {
      const h = request.headers
      const route = request.routeOptions.url
      const method = request.method
      const tp = h.traceparent
      const span = tracer.startSpan(spanName(method, route), SERVER, tp === undefined ? ROOT_CONTEXT : extractContext(tp, h.tracestate))
      request.tenzroSpan = span
      // Attributes after the start, one by one: the SDK validates start attributes twice, and none of
      // the samplers OTEL_TRACES_SAMPLER can name reads them. A span sampled out costs nothing more.
      if (span.isRecording()) setRequestAttributes(request, span, route, method)
    },
    end (request, status) {
      const span = spanOf(request)
      if (span === null) return
      request.tenzroSpan = null
      endServerSpan(request, span, status)
    },
    endForStream (request) {
      const span = spanOf(request)
      if (span === null) return undefined
      request.tenzroSpan = null
      endServerSpan(request, span, 200)
      return trace.setSpan(ROOT_CONTEXT, span)
    },
    parent (request) {
      const span = spanOf(request)
      return span === null ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, span)
    }
  }
}
