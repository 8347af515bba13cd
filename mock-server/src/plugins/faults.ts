// REST faults of contract 7.2. The decision is taken once per authenticated request, as a step of the
// request pipeline (so the limiter can answer a forced 429 burst through its own path); latency and
// error statuses apply before the handler; lost responses and slow bodies apply to the response on
// its way out. Public and control routes never get a fault, so only the other routes carry the hooks.
// The decision and the injected errors are pipeline/rest-faults.ts's, shared with the msw handlers.
import { Readable } from 'node:stream'
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'
import type { MockContext } from '../context.ts'
import { faultError, restFaultsFor } from '../pipeline/index.ts'
import { addRouteHook } from './request-context.ts'
import { ApiError, MESSAGES } from '../errors.ts'

const stateUnavailable = new ApiError('service_unavailable', MESSAGES.service_unavailable, [{ field: 'retryAfter', message: '1' }], { 'retry-after': '1' })

export default fp(async function faults (app, opts: { context: () => MockContext }) {
  app.addRequestStep(function faultStep (request) {
    const s = request.state
    if (s.auth === undefined) return undefined
    const mock = opts.context()
    const plan = mock.faults
    // Instances that share state count a plan's faults together (domain/shared/fault-counters.ts).
    if (mock.shared !== undefined && plan.hasRest) {
      const a = s.auth
      return mock.shared.faults.rest(plan, { tenantId: a.tenantId, tenantSlug: a.tenantSlug, keyId: a.keyId, method: request.method, route: s.route ?? '' }, request.method === 'POST')
        .then((d) => { s.faults = d; return undefined }, () => stateUnavailable)
    }
    s.faults = restFaultsFor(plan, s.auth, request.method, s.route ?? '')
    return undefined
  })

  function beforeHandler (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const f = request.state.faults
    if (f === undefined) { done(); return }
    if (f.latencyMs > 0) setTimeout(() => { done(faultError(f)) }, f.latencyMs)
    else done(faultError(f))
  }

  function onTheWayOut (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload: unknown) => void): void {
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
  }

  app.addHook('onRoute', function (route: RouteOptions) {
    if (route.config?.public === true || route.config?.control === true) return
    addRouteHook(route, 'preHandler', beforeHandler)
    addRouteHook(route, 'onSend', onTheWayOut)
  })
}, { name: 'mock-faults', dependencies: ['mock-auth'] })
