// The limits of the HTTP layer and the answers Node's HTTP server gives before a route runs, in the
// envelope of contract 1.5 (README, "HTTP limits"). The contract's codes (1.6) are kept: a limit the
// table has no code for answers with its own status and the code that says what to fix
// (`validation_error` naming the header, the body or the method), so a client keyed on codes needs
// nothing new. Every answer here carries X-Request-Id and is in the record (7.3).
import type { IncomingMessage, ServerOptions } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyRequest } from 'fastify'
import type { MockConfig } from './config.ts'
import { ApiError, MESSAGES } from './errors.ts'
import { NOT_IMPLEMENTED } from './pipeline/methods.ts'

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
  notImplemented: NOT_IMPLEMENTED,
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

/** Whether a request breaks the framing rules Node leaves to the application (Host, Expect). */
export function framingRefusal (raw: IncomingMessage): ApiError | undefined {
  if (raw.headers.host === undefined && raw.httpVersionMajor === 1 && raw.httpVersionMinor >= 1) return HTTP_ERRORS.noHost
  const expect = raw.headers.expect
  if (expect !== undefined && expect.toLowerCase() !== '100-continue') return HTTP_ERRORS.expectation
  return undefined
}
