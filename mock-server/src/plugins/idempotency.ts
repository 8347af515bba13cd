// Idempotency keys (contract 6), on the POST routes only (the rest never pay for it). A first POST
// with a key runs and its answer is stored; the same key and body replays it with
// Idempotent-Replayed: true; another body is 422; a duplicate while the first runs is 409. A POST
// without a key runs and the record marks it (6.2). The rules are pipeline/idempotency.ts's, shared with
// the msw handlers.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'
import type { IdempotencyStore } from '../domain/idempotency-store.ts'
import type { SharedIdempotencyStore } from '../domain/shared/index.ts'
import { ApiError, MESSAGES } from '../errors.ts'
import { applyIdempotency, beginIdempotency, beginSharedIdempotency, finishIdempotency, finishSharedIdempotency, type IdempotencyStart } from '../pipeline/index.ts'
import { addRouteHook } from './request-context.ts'

const kHash = Symbol('tenzro.idempotencyHash')
const stateUnavailable = new ApiError('service_unavailable', MESSAGES.service_unavailable, [{ field: 'retryAfter', message: '1' }], { 'retry-after': '1' })

export default fp(async function idempotency (app, opts: { store: () => IdempotencyStore, shared?: SharedIdempotencyStore | undefined }) {
  const { shared } = opts

  /** Records in Redis (shared state): the same flow, one round trip to claim or read the key. */
  function beginShared (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const s = request.state
    const req = request as FastifyRequest & { [kHash]?: string }
    beginSharedIdempotency(shared!, request.method, s.auth, s.config, request.headers['x-idempotency-key'], request.body, (h) => { req[kHash] = h })
      .then((r) => { answer(request, reply, done, r) }, () => { done(stateUnavailable) })
  }

  function begin (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    answer(request, reply, done, beginIdempotency(opts.store(), request.method, request.state.auth, request.state.config, request.headers['x-idempotency-key'], request.body))
  }

  function answer (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, r: IdempotencyStart): void {
    const s = request.state
    applyIdempotency(s, r)
    if (r.kind === 'refused') { done(r.error); return }
    if (r.kind !== 'replay') { done(); return }
    reply.code(r.response.statusCode).header('idempotent-replayed', 'true').type(r.response.contentType).send(r.response.payload)
  }

  function finish (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload: unknown) => void): void {
    if (request.state.idempotency === 'new') {
      const type = reply.getHeader('content-type')
      if (shared !== undefined) {
        // The answer is stored before it is sent: a retry on another instance then replays it.
        const hash = (request as FastifyRequest & { [kHash]?: string })[kHash]!
        finishSharedIdempotency(shared, request.state, hash, reply.statusCode, payload, type === undefined ? undefined : String(type))
          .then(() => { done(null, payload) }, (err: Error) => { request.log.warn({ err: { message: err.message } }, 'idempotency record not stored'); done(null, payload) })
        return
      }
      finishIdempotency(opts.store(), request.state, reply.statusCode, payload, type === undefined ? undefined : String(type))
    }
    done(null, payload)
  }

  app.addHook('onRoute', function (route: RouteOptions) {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (!methods.includes('POST') || route.config?.control === true) return
    addRouteHook(route, 'preHandler', shared === undefined ? begin : beginShared)
    addRouteHook(route, 'onSend', finish)
  })
}, { name: 'mock-idempotency', dependencies: ['mock-auth'] })
