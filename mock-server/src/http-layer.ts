// The limits of the HTTP layer and the answers Node's HTTP server gives before a route runs, in the
// envelope of contract 1.5 (README, "HTTP limits"). The contract's codes (1.6) are kept: a limit the
// table has no code for answers with its own status and the code that says what to fix
// (`validation_error` naming the header, the body or the method), so a client keyed on codes needs
// nothing new. Every answer here carries X-Request-Id and is in the record (7.3).
import type { IncomingMessage, ServerOptions } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyRequest, RouteOptions } from 'fastify'
import type { MockConfig } from './config.ts'
import { ApiError, MESSAGES } from './errors.ts'

/** Options for node:http/node:https createServer: Fastify passes them through (`http`, or merged into `https`). */
export function serverOptions (cfg: MockConfig['http']): ServerOptions {
  return {
    maxHeaderSize: cfg.maxHeaderBytes,
    headersTimeout: cfg.headersTimeoutMs,
    requestTimeout: cfg.requestTimeoutMs,
    // Node checks both timeouts on this period (default 30 s): a 1 s timeout must fire within about 1 s.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(cfg.headersTimeoutMs / 4))),
    // Without Host, Node answers a bare 400 before any hook; the request-context step answers it instead.
    requireHostHeader: false
  }
}

const d = (field: string, message: string) => [{ field, message }]
export const HTTP_ERRORS = {
  badHttp: new ApiError('validation_error', 'The request is not valid HTTP/1.1.', d('request', 'malformed or incomplete')),
  headersTooLarge: new ApiError('validation_error', 'The request headers are over the size limit; send fewer or shorter headers.', d('headers', 'too large'), undefined, 431),
  headersTimeout: new ApiError('validation_error', 'The request headers did not arrive in time; send the whole request at once.', d('headers', 'not received in time'), undefined, 408),
  bodyTimeout: new ApiError('validation_error', 'The request body did not arrive in time (it is shorter than its Content-Length, or stalled).', d('body', 'not received in time'), undefined, 408),
  notImplemented: new ApiError('validation_error', 'This API does not implement that method on any route.', d('method', 'not implemented'), undefined, 501),
  noHost: new ApiError('validation_error', 'An HTTP/1.1 request needs a Host header.', d('Host', 'required')),
  expectation: new ApiError('validation_error', 'Only Expect: 100-continue is supported.', d('Expect', 'must be 100-continue or absent'), undefined, 417),
  tooLarge: new ApiError('payload_too_large', MESSAGES.payload_too_large, d('body', 'over the size limit'))
} as const

/** The ApiError for an error Node's HTTP parser or timers report through 'clientError'. */
export function clientErrorFor (code: string | undefined, inFlight: boolean): ApiError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW': return HTTP_ERRORS.headersTooLarge
    case 'ERR_HTTP_REQUEST_TIMEOUT': return inFlight ? HTTP_ERRORS.bodyTimeout : HTTP_ERRORS.headersTimeout
    case 'HPE_INVALID_METHOD': return HTTP_ERRORS.notImplemented
    default: return HTTP_ERRORS.badHttp
  }
}

/** The raw bytes of an answer written straight to the socket (no response object exists yet). */
export function rawAnswer (err: ApiError, requestId: string, body: string): string {
  return `HTTP/1.1 ${err.statusCode} ${STATUS_TEXT[err.statusCode] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nX-API-Version: 1\r\nConnection: close\r\n\r\n${body}`
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 417: 'Expectation Failed', 431: 'Request Header Fields Too Large', 501: 'Not Implemented' }

const kInFlight = Symbol('tenzro.inFlightRequest')
type TrackedSocket = Socket & { [kInFlight]?: FastifyRequest }

/** Remember the request a socket is reading, so a body timeout is answered and recorded as that request. */
export function trackInFlight (request: FastifyRequest): void {
  const socket = request.raw.socket as TrackedSocket | null
  if (socket !== null) socket[kInFlight] = request
}

/** The request the socket is still reading (no answer sent, not recorded), if any. */
export function inFlightOn (socket: Socket): FastifyRequest | undefined {
  const r = (socket as TrackedSocket)[kInFlight]
  if (r === undefined || r.state === null || r.state.recorded === true || r.raw.complete || r.state.res?.headersSent === true) return undefined
  return r
}

/**
 * 405 and 501 (RFC 9110 15.5.6, 15.6.2): which methods each route pattern answers, learned at
 * registration. A method no route has is 501; a path that exists for other methods is 405 with Allow.
 */
export function createMethodTable () {
  const routes: Array<{ re: RegExp, methods: Set<string> }> = []
  const implemented = new Set<string>()
  let allowCache = new Map<string, string>()
  return {
    add (route: RouteOptions): void {
      const methods = Array.isArray(route.method) ? route.method : [route.method]
      // '/api/keys/:id' -> ^/api/keys/[^/]+$
      const source = '^' + route.url.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/') + '$'
      let entry = routes.find((r) => r.re.source === source)
      if (entry === undefined) { entry = { re: new RegExp(source), methods: new Set() }; routes.push(entry) }
      for (const m of methods) {
        entry.methods.add(m)
        implemented.add(m)
        // Fastify answers HEAD for every GET route.
        if (m === 'GET') { entry.methods.add('HEAD'); implemented.add('HEAD') }
      }
      allowCache = new Map()
    },
    /** 501, 405 (with Allow) or undefined (a plain 404) for a request no route matched. */
    refusal (method: string, url: string): ApiError | undefined {
      if (!implemented.has(method)) return HTTP_ERRORS.notImplemented
      const q = url.indexOf('?')
      const path = q === -1 ? url : url.slice(0, q)
      let allow = allowCache.get(path)
      if (allow === undefined) {
        const set = new Set<string>()
        for (const r of routes) if (r.re.test(path)) for (const m of r.methods) set.add(m)
        allow = [...set].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b)).join(', ')
        if (allowCache.size < 1024) allowCache.set(path, allow)
      }
      if (allow === '' || allow.split(', ').includes(method)) return undefined
      return new ApiError('validation_error', `${method} is not allowed here; this path answers ${allow}.`, d('method', `must be one of ${allow}`), { allow }, 405)
    }
  }
}

const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

/** Whether a request breaks the framing rules Node leaves to the application (Host, Expect). */
export function framingRefusal (raw: IncomingMessage): ApiError | undefined {
  if (raw.headers.host === undefined && raw.httpVersionMajor === 1 && raw.httpVersionMinor >= 1) return HTTP_ERRORS.noHost
  const expect = raw.headers.expect
  if (expect !== undefined && expect.toLowerCase() !== '100-continue') return HTTP_ERRORS.expectation
  return undefined
}
