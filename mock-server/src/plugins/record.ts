// One record entry and one log line per request (contract 7.3; issue 2 item 7). The entry is built
// from request.state, so it can hold only what the plugins put there: key ids, never secrets. The
// URL is recorded without its query string; a query or body that carried a key is flagged, not kept.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { MockContext } from '../context.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Write the request's record entry and log line now (once); used where onResponse will not run. */
    recordRequest (request: FastifyRequest, statusCode: number): void
  }
}

const KEYISH = /tnz(?:_|%5f)/i

export default fp(async function record (app, opts: { context: () => MockContext, unsafeLogHeaders: boolean }) {
  function write (request: FastifyRequest, statusCode: number): void {
    const s = request.state
    if (s === null || s.recorded === true) return
    s.recorded = true
    const url = request.url
    const q = url.indexOf('?')
    const rl = s.rateLimit
    const entry: Record<string, unknown> = {
      requestId: request.id,
      method: request.method,
      route: request.routeOptions.url ?? null,
      path: q === -1 ? url : url.slice(0, q),
      status: statusCode,
      durationMs: Math.round(Number(process.hrtime.bigint() - s.startNs) / 1e4) / 100,
      ip: request.ip,
      tenant: s.auth?.tenantId ?? null,
      keyId: s.auth?.keyId ?? s.keyRef ?? null,
      auth: s.authOutcome ?? null,
      code: s.errorCode ?? s.authCode ?? null,
      rateLimit: rl === undefined ? null : { allowed: rl.allowed, limit: rl.limit, remaining: rl.remaining, resetAtMs: rl.resetAtMs, retryAfterS: rl.retryAfterS },
      idempotencyKey: s.idempotencyKey ?? null,
      idempotency: s.idempotency ?? null,
      faults: s.faults === undefined || s.faults.labels.length === 0 ? null : s.faults.labels,
      lostResponse: s.lost === true,
      traceId: s.traceId ?? null
    }
    if (q !== -1 && KEYISH.test(url.slice(q))) entry.secretInUrl = true
    if (request.method === 'POST' && request.body !== undefined && request.body !== null && KEYISH.test(JSON.stringify(request.body))) entry.secretInBody = true
    if (opts.unsafeLogHeaders) {
      // Redaction switched off (test switch): this is the leak the canary test must catch.
      entry.headers = request.headers
      entry.url = url
    }
    opts.context().record.append('request', entry)
    request.log.info(entry, 'request')
  }

  app.decorate('recordRequest', write)

  app.addHook('onResponse', function (request: FastifyRequest, reply: FastifyReply, done) {
    write(request, reply.statusCode)
    done()
  })
}, { name: 'mock-record', dependencies: ['mock-request-context'] })
