// Per-request state, X-Request-Id and X-API-Version on every response, the common header checks of
// contract 1.2/1.3, and the mock's one onRequest hook. Runs first, for every route including 404s.
//
// The other plugins do not add onRequest hooks of their own: each adds a step (control guard,
// authentication, fault decision, rate limit), and the steps run in this hook in the order the
// plugins were registered. A step answers synchronously unless it must wait (the Redis limiter), so a
// request pays for one hook instead of five.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'
import type { ApiError } from '../errors.ts'
import { checkCommonHeaders, newRequestState } from '../pipeline/index.ts'
import { framingRefusal, trackInFlight } from '../http-layer.ts'
import type { RequestState } from '../types.ts'

/** One step of the request pipeline: the refusal to answer with, undefined to go on, or a promise of either. */
export type RequestStep = (request: FastifyRequest, reply: FastifyReply) => ApiError | undefined | Promise<ApiError | undefined>

declare module 'fastify' {
  interface FastifyInstance {
    /** Run `step` on every request, after the steps added before it. Call while registering. */
    addRequestStep (step: RequestStep): void
  }
}

/**
 * Add a hook to one route's own hooks, after those it has (call from an onRoute hook). A plugin puts
 * its preHandler and onSend work only on the routes that need it, as fastify-rate-limit does, so the
 * others do not pay for it; route hooks run after the app's, in the order they were added.
 */
export function addRouteHook<K extends 'preHandler' | 'onSend'> (route: RouteOptions, name: K, hook: NonNullable<RouteOptions[K]>): void {
  const have = route[name]
  route[name] = (have === undefined ? [hook] : [...(Array.isArray(have) ? have : [have]), hook]) as RouteOptions[K]
}

export default fp(async function requestContext (app) {
  const steps: RequestStep[] = []
  app.decorateRequest('state', null as unknown as RequestState)
  app.decorate('addRequestStep', function addRequestStep (step: RequestStep) {
    steps.push(step)
  })

  function run (request: FastifyRequest, reply: FastifyReply, from: number, done: HookHandlerDoneFunction): void {
    for (let i = from; i < steps.length; i++) {
      let r: ReturnType<RequestStep>
      try {
        r = steps[i]!(request, reply)
      } catch (err) {
        done(err as Error)
        return
      }
      if (r === undefined) continue
      if (r instanceof Promise) {
        r.then((refusal) => { if (refusal === undefined) run(request, reply, i + 1, done); else done(refusal) }, done)
        return
      }
      done(r)
      return
    }
    done()
  }

  app.addHook('onRequest', function requestPipeline (request, reply, done) {
    const state = newRequestState()
    const ro = request.routeOptions
    state.config = ro.config
    state.route = ro.url
    state.res = reply.raw
    request.state = state
    reply.header('x-request-id', request.id)
    reply.header('x-api-version', '1')
    trackInFlight(request)
    const refusal = framingRefusal(request.raw) ?? checkCommonHeaders(request.headers)
    if (refusal !== undefined) { done(refusal); return }
    run(request, reply, 0, done)
  })
}, { name: 'mock-request-context' })
