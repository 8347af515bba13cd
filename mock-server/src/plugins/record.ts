// One record entry and one log line per request (contract 7.3; issue 2 item 7). The entry is built
// from request.state, so it can hold only what the plugins put there: key ids, never secrets. The
// URL is recorded without its query string; a query or body that carried a key is flagged, not kept.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { MockContext } from '../context.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Write the request's record entry and log line now (once); used where onResponse will not run. */
    recordRequest (request: FastifyRequest, statusCode: number, retryAfter?: unknown): void
  }
}

const KEYISH = /tnz(?:_|%5f)/i
const KEYISH_SEGMENT = /tnz(?:_|%5f)[^/]*/gi

export interface RequestLogSink {
  /** False when the logger's level is above info. */
  enabled: boolean
  /** Writes one raw line (with its newline) to the log destination. */
  write (line: string): void
}

export default fp(async function record (app, opts: { context: () => MockContext, unsafeLogHeaders: boolean, log: RequestLogSink }) {
  // The per-request line is the record entry itself, framed as a pino line: serialised once for both
  // (it was 40 % of a request through pino's generic object path). Other log calls go through pino.
  const logPrefix = '{"level":30,"time":'
  function write (request: FastifyRequest, statusCode: number, retryAfter?: unknown): void {
    const s = request.state
    if (s === null || s.recorded === true) return
    s.recorded = true
    const url = request.url
    const q = url.indexOf('?')
    let path = q === -1 ? url : url.slice(0, q)
    // A key pasted where an id belongs (DELETE /api/keys/<key>) is a secret too: redact the segment, flag it.
    const keyInPath = KEYISH.test(path)
    if (keyInPath) path = path.replace(KEYISH_SEGMENT, '[REDACTED]')
    const rl = s.rateLimit
    const entry: Record<string, unknown> = {
      requestId: request.id,
      // Whether the client chose the id (1.2): retries of one logical request can then be told apart.
      clientRequestId: request.headers['x-request-id'] === request.id,
      method: request.method,
      route: s.route ?? null,
      path,
      status: statusCode,
      durationMs: Math.round(Number(process.hrtime.bigint() - s.startNs) / 1e4) / 100,
      ip: request.ip,
      tenant: s.auth?.tenantId ?? s.authTenant ?? null,
      keyId: s.auth?.keyId ?? s.keyRef ?? null,
      auth: s.authOutcome ?? null,
      code: s.errorCode ?? s.authCode ?? null,
      rateLimit: rl === undefined ? null : { allowed: rl.allowed, limit: rl.limit, remaining: rl.remaining, resetAtMs: rl.resetAtMs, retryAfterS: rl.retryAfterS },
      idempotencyKey: s.idempotencyKey ?? null,
      idempotency: s.idempotency ?? null,
      faults: s.faults === undefined || s.faults.labels.length === 0 ? null : s.faults.labels,
      lostResponse: s.lost === true,
      // What the client was told to wait (5.3, 7.2): the throttling check measures the next request against it.
      retryAfterS: retryAfter === undefined ? null : Number(retryAfter),
      traceId: s.traceId ?? null
    }
    if (keyInPath || (q !== -1 && KEYISH.test(url.slice(q)))) entry.secretInUrl = true
    if (request.method === 'POST' && request.body !== undefined && request.body !== null && KEYISH.test(JSON.stringify(request.body))) entry.secretInBody = true
    if (opts.unsafeLogHeaders) {
      // Redaction switched off (test switch): this is the leak the canary test must catch.
      entry.headers = request.headers
      entry.url = url
      entry.body = request.body
    }
    const line = opts.context().record.appendJson('request', entry)
    if (opts.log.enabled) opts.log.write(logPrefix + Date.now() + ',"service":"tenzro-mock","msg":"request","reqId":"' + request.id + '",' + line.slice(1) + '\n')
  }

  app.decorate('recordRequest', write)

  app.addHook('onResponse', function (request: FastifyRequest, reply: FastifyReply, done) {
    write(request, reply.statusCode, reply.getHeader('retry-after'))
    done()
  })
}, { name: 'mock-record', dependencies: ['mock-request-context'] })
