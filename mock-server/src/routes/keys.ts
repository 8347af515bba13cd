// Key administration (contract 2.6) at /api/keys and /api/apikeys, with X-Admin-API-Key holding a key
// with admin:*. An admin key manages its own tenant only (3.4): another tenant's id is 403
// tenant_mismatch, another tenant's key id is 404 as if it did not exist.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiError, MESSAGES } from '../errors.ts'
import { describeKey, DEFAULT_SCOPES } from '../domain/key-store.ts'
import { envelopeSchema, errorSchema, keySchema } from '../envelope.ts'
import { checkFields, keyFields, objectBody, throwIfDetails } from '../validate.ts'
import type { ErrorDetail } from '../errors.ts'

export default async function keyRoutes (app: FastifyInstance) {
  const mismatch = new ApiError('tenant_mismatch', MESSAGES.tenant_mismatch, [{ field: 'tenantId', message: 'not the admin key\'s tenant' }])
  const notFound = new ApiError('not_found', 'No such key for this tenant.', [{ field: 'id', message: 'unknown key id' }])
  const created = envelopeSchema({ ...keySchema, properties: { ...keySchema.properties, key: { type: 'string' } } })

  function ownTenant (request: FastifyRequest, idOrSlug: unknown) {
    const auth = request.state.auth!
    if (typeof idOrSlug !== 'string' || (idOrSlug !== auth.tenantId && idOrSlug !== auth.tenantSlug)) throw mismatch
    return app.mock.keys.tenant(auth.tenantId)!
  }

  for (const prefix of ['/api/keys', '/api/apikeys']) {
    app.post(prefix, { config: { admin: true }, schema: { response: { 201: created, '4xx': errorSchema } } }, function (request, reply) {
      const o = objectBody(request.body)
      const d: ErrorDetail[] = []
      checkFields(o, ['tenantId', 'name', 'scopes', 'rateLimit', 'expiresAt'], d)
      if (typeof o.tenantId !== 'string') d.push({ field: 'tenantId', message: 'required: the tenant id or slug' })
      const input = keyFields(o, d, app.mock.now(), { scopes: DEFAULT_SCOPES })
      throwIfDetails(d, 'The key')
      const tenant = ownTenant(request, o.tenantId)
      const { record, key } = app.mock.keys.createKey(tenant, input)
      reply.code(201).send({ data: { ...describeKey(record), key }, meta: { requestId: request.id, timestamp: new Date(app.mock.now()).toISOString() } })
    })

    app.delete<{ Params: { id: string } }>(prefix + '/:id', { config: { admin: true }, schema: { response: { 200: envelopeSchema(keySchema), '4xx': errorSchema } } }, function (request, reply) {
      const k = app.mock.keys.key(request.params.id)
      if (k === undefined || k.tenantId !== request.state.auth!.tenantId) throw notFound
      app.mock.keys.revoke(k.id)
      reply.send({ data: describeKey(k), meta: { requestId: request.id, timestamp: new Date(app.mock.now()).toISOString() } })
    })

    app.get<{ Params: { tenantId: string } }>(prefix + '/tenant/:tenantId', { config: { admin: true }, schema: { response: { 200: envelopeSchema({ type: 'array', items: keySchema }), '4xx': errorSchema } } }, function (request, reply) {
      const tenant = ownTenant(request, request.params.tenantId)
      reply.send({ data: app.mock.keys.keysOf(tenant.id).map(describeKey), meta: { requestId: request.id, timestamp: new Date(app.mock.now()).toISOString() } })
    })

    // Documented without the data wrapper (2.6). Any live key may ask about itself.
    app.get(prefix + '/validate', {
      config: {},
      schema: {
        response: {
          200: {
            type: 'object',
            properties: {
              valid: { type: 'boolean' },
              tenantId: { type: 'string' },
              scopes: { type: 'array', items: { type: 'string' } },
              rateLimit: { type: 'object', properties: { limit: { type: 'integer' }, remaining: { type: 'integer' }, resetsAt: { type: 'string' } } }
            }
          },
          '4xx': errorSchema
        }
      }
    }, function (request, reply) {
      const auth = request.state.auth!
      const rl = request.state.rateLimit
      const cfg = app.mock.config.rateLimit
      const limit = rl?.limit ?? auth.rateLimit ?? cfg.limit
      reply.send({
        valid: true,
        tenantId: auth.tenantId,
        scopes: auth.scopes,
        rateLimit: { limit, remaining: rl?.remaining ?? limit, resetsAt: new Date(rl?.resetAtMs ?? app.mock.now() + cfg.windowMs).toISOString() }
      })
    })
  }
}
