// One record entry and one log line per request (contract 7.3). The entry is
// pipeline/record-entry.ts `requestEntry`, built from request.state, so it can hold only what the
// plugins put there: key ids, never secrets. The URL is recorded without its query string; a query or body
// that carried a key is flagged, not kept.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { MockContext } from '../context.ts'
import { requestEntry, type RequestFacts } from '../pipeline/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Write the request's record entry and log line now (once); used where onResponse will not run. */
    recordRequest (request: FastifyRequest, statusCode: number, retryAfter?: unknown): void
  }
}

export interface RequestLogSink {
  /** False when the logger's level is above info. */
  enabled: boolean
  /** Writes raw lines (each with its newline) to the log destination. */
  write (lines: string): void
}

/** Lines waiting for the end of the event-loop turn are written at once past this many characters. */
const MAX_PENDING_CHARS = 64 * 1024

export default fp(async function record (app, opts: { context: () => MockContext, unsafeLogHeaders: boolean, log: RequestLogSink }) {
  // The per-request line is the record entry itself, framed as a pino line: serialised once for both
  // (it was 40 % of a request through pino's generic object path). Other log calls go through pino.
  const logPrefix = '{"level":30,"time":'
  // The lines of one event-loop turn go to the destination in one write: a write per request cost a
  // tenth of a request under load. They are written before the next turn, and on close.
  let pending = ''
  function flush (): void {
    if (pending === '') return
    const lines = pending
    pending = ''
    opts.log.write(lines)
  }

  // One facts object serves every request: requestEntry reads it synchronously and keeps nothing of it.
  const facts: RequestFacts = { requestId: '', sentRequestId: undefined, method: '', route: null, url: '', statusCode: 0, ip: undefined, body: undefined, retryAfter: undefined, headers: {}, unsafe: opts.unsafeLogHeaders }

  function write (request: FastifyRequest, statusCode: number, retryAfter?: unknown): void {
    const s = request.state
    if (s === null || s.recorded === true) return
    s.recorded = true
    const headers = request.headers
    facts.requestId = request.id
    // Whether the client chose the id (1.2): retries of one logical request can then be told apart.
    facts.sentRequestId = headers['x-request-id']
    facts.method = request.method
    facts.route = s.route ?? null
    facts.url = request.url
    facts.statusCode = statusCode
    facts.ip = request.ip
    facts.body = request.body
    // What the client was told to wait (5.3, 7.2): the throttling check measures the next request against it.
    facts.retryAfter = retryAfter
    facts.headers = headers
    const entry = requestEntry(facts, s)
    facts.body = undefined
    facts.headers = {}
    const line = opts.context().record.appendJson('request', entry, s)
    if (!opts.log.enabled) return
    if (pending === '') setImmediate(flush)
    pending += logPrefix + Date.now() + ',"service":"tenzro-mock","msg":"request","reqId":"' + request.id + '",' + line.slice(1) + '\n'
    if (pending.length > MAX_PENDING_CHARS) flush()
  }

  app.decorate('recordRequest', write)

  app.addHook('onResponse', function (request: FastifyRequest, reply: FastifyReply, done) {
    write(request, reply.statusCode, reply.getHeader('retry-after'))
    done()
  })
  // A client that abandons its request (a timeout during a slow body, a lost connection) is in the
  // record too (7.3): with the status already sent, or 499 (client closed request) before any byte.
  app.addHook('onRequestAbort', function (request: FastifyRequest, done) {
    const res = request.state?.res
    write(request, res !== undefined && res.headersSent ? res.statusCode : 499)
    done()
  })
  app.addHook('onClose', function (_app, done) {
    flush()
    done()
  })
}, { name: 'mock-record', dependencies: ['mock-request-context'] })
