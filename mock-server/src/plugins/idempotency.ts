// Idempotency keys (contract 6), on the POST routes only (the rest never pay for it). A first POST
// with a key runs and its answer is stored; the same key and body replays it with
// Idempotent-Replayed: true; another body is 422; a duplicate while the first runs is 409. A POST
// without a key runs and the record marks it (6.2). The rules are pipeline/idempotency.ts's, shared with
// the msw handlers.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'
import type { IdempotencyStore } from '../domain/idempotency-store.ts'
import { applyIdempotency, beginIdempotency, finishIdempotency } from '../pipeline/index.ts'
import { addRouteHook } from './request-context.ts'

export default fp(async function idempotency (app, opts: { store: () => IdempotencyStore }) {
  function begin (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const s = request.state
    const r = beginIdempotency(opts.store(), request.method, s.auth, s.config, request.headers['x-idempotency-key'], request.body)
    applyIdempotency(s, r)
    if (r.kind === 'refused') { done(r.error); return }
    if (r.kind !== 'replay') { done(); return }
    reply.code(r.response.statusCode).header('idempotent-replayed', 'true').type(r.response.contentType).send(r.response.payload)
  }

  function finish (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload: unknown) => void): void {
    if (request.state.idempotency === 'new') {
      const type = reply.getHeader('content-type')
      finishIdempotency(opts.store(), request.state, reply.statusCode, payload, type === undefined ? undefined : String(type))
    }
    done(null, payload)
  }

  app.addHook('onRoute', function (route: RouteOptions) {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (!methods.includes('POST') || route.config?.control === true) return
    addRouteHook(route, 'preHandler', begin)
    addRouteHook(route, 'onSend', finish)
  })
}, { name: 'mock-idempotency', dependencies: ['mock-auth'] })
