// Idempotency keys (contract 6). A first POST with a key runs and its answer is stored; the same key
// and body replays it with Idempotent-Replayed: true; another body is 422; a duplicate while the first
// runs is 409. A POST without a key runs and the record marks it (6.2).
import fp from 'fastify-plugin'
import { ApiError, MESSAGES } from '../errors.ts'
import { bodyHash, IDEMPOTENCY_KEY_RE, type IdempotencyStore } from '../domain/idempotency-store.ts'

export default fp(async function idempotency (app, opts: { store: () => IdempotencyStore }) {
  const badKey = new ApiError('validation_error', 'X-Idempotency-Key must be 1-255 printable ASCII characters.', [{ field: 'X-Idempotency-Key', message: 'must be 1-255 printable characters' }])
  const inProgress = new ApiError('idempotency_in_progress', MESSAGES.idempotency_in_progress, [{ field: 'X-Idempotency-Key', message: 'in progress' }])
  const reused = new ApiError('idempotency_key_reused', MESSAGES.idempotency_key_reused, [{ field: 'X-Idempotency-Key', message: 'used with a different body' }])

  app.addHook('preHandler', function (request, reply, done) {
    const auth = request.state.auth
    if (request.method !== 'POST' || auth === undefined || request.state.config.control === true) { done(); return }
    const key = request.headers['x-idempotency-key']
    if (key === undefined) { request.state.idempotency = 'missing'; done(); return }
    if (typeof key !== 'string' || !IDEMPOTENCY_KEY_RE.test(key)) { done(badKey); return }
    request.state.idempotencyKey = key
    const r = opts.store().begin(auth.tenantId, key, bodyHash(request.body))
    switch (r.kind) {
      case 'new':
        request.state.idempotency = 'new'
        done()
        return
      case 'in_progress':
        request.state.idempotency = 'in_progress'
        done(inProgress)
        return
      case 'mismatch':
        request.state.idempotency = 'mismatch'
        done(reused)
        return
      case 'replay':
        request.state.idempotency = 'replayed'
        request.state.replayed = true
        reply.code(r.response.statusCode).header('idempotent-replayed', 'true').type(r.response.contentType).send(r.response.payload)
    }
  })

  app.addHook('onSend', function (request, reply, payload, done) {
    const auth = request.state.auth
    const key = request.state.idempotencyKey
    if (request.state.idempotency !== 'new' || auth === undefined || key === undefined) { done(null, payload); return }
    request.state.idempotency = 'stored'
    if (reply.statusCode >= 500 || typeof payload !== 'string') {
      opts.store().abandon(auth.tenantId, key)
    } else {
      opts.store().complete(auth.tenantId, key, { statusCode: reply.statusCode, payload, contentType: String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8') })
    }
    done(null, payload)
  })
}, { name: 'mock-idempotency', dependencies: ['mock-auth'] })
