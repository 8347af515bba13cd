// REST faults of contract 7.2. The decision is taken once per authenticated request (onRequest, so
// the limiter can answer a forced 429 burst through its own path); latency and error statuses apply
// before the handler; lost responses and slow bodies apply to the response on its way out.
import { Readable } from 'node:stream'
import fp from 'fastify-plugin'
import { ApiError, MESSAGES } from '../errors.ts'
import type { MockContext } from '../context.ts'

export default fp(async function faults (app, opts: { context: () => MockContext }) {
  app.addHook('onRequest', function (request, _reply, done) {
    const auth = request.state.auth
    if (auth === undefined) { done(); return }
    const plan = opts.context().faults
    if (!plan.hasRest) { done(); return }
    request.state.faults = plan.rest({
      tenantId: auth.tenantId,
      tenantSlug: auth.tenantSlug,
      keyId: auth.keyId,
      method: request.method,
      route: request.state.route ?? ''
    }, request.method === 'POST')
    done()
  })

  app.addHook('preHandler', function (request, _reply, done) {
    const f = request.state.faults
    if (f === undefined) { done(); return }
    const fail = () => {
      if (f.error === undefined) { done(); return }
      const { status, retryAfterS } = f.error
      if (status === 503) {
        done(new ApiError('service_unavailable', MESSAGES.service_unavailable, [{ field: 'retryAfter', message: String(retryAfterS) }], { 'retry-after': String(retryAfterS) }))
      } else {
        done(new ApiError('internal_error', `Injected fault: ${status}.`, [], undefined, status))
      }
    }
    if (f.latencyMs > 0) setTimeout(fail, f.latencyMs)
    else fail()
  })

  app.addHook('onSend', function (request, reply, payload, done) {
    const f = request.state.faults
    if (f === undefined) { done(null, payload); return }
    if (f.lostResponse && reply.statusCode < 400) {
      // The mutation happened and its idempotency entry is stored (that plugin's onSend ran first);
      // the client sees the connection drop before any byte of the answer (7.2 lost-response).
      request.state.lost = true
      app.recordRequest(request, reply.statusCode)
      request.raw.socket?.destroy()
      done(null, payload)
      return
    }
    if (f.slowBody !== undefined && (typeof payload === 'string' || Buffer.isBuffer(payload))) {
      const body = Buffer.from(payload)
      const { chunkBytes, delayMs } = f.slowBody
      let offset = 0
      const stream = new Readable({
        read () {
          if (offset >= body.length) { this.push(null); return }
          const chunk = body.subarray(offset, offset + chunkBytes)
          offset += chunkBytes
          setTimeout(() => this.push(chunk), delayMs)
        }
      })
      reply.header('content-length', body.length)
      done(null, stream)
      return
    }
    done(null, payload)
  })
}, { name: 'mock-faults', dependencies: ['mock-auth'] })
