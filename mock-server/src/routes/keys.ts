// Key administration (contract 2.6) at /api/keys and /api/apikeys, with X-Admin-API-Key holding a key
// with admin:*. An admin key manages its own tenant only (3.4): the rules are pipeline/key-admin.ts
// `keyAdmin`, shared with the msw handlers.
import type { FastifyInstance } from 'fastify'
import { envelopeSchema, errorSchema, keyCreatedSchema, keySchema, keyValidationSchema } from '../envelope.ts'
import { dataEnvelope, keyAdmin } from '../pipeline/index.ts'

export default async function keyRoutes (app: FastifyInstance) {
  const admin = keyAdmin(app.mock)
  const created = envelopeSchema(keyCreatedSchema)
  const validated = keyValidationSchema

  for (const prefix of ['/api/keys', '/api/apikeys']) {
    app.post(prefix, { config: { admin: true }, schema: { response: { 201: created, '4xx': errorSchema } } }, function (request, reply) {
      reply.code(201).send(dataEnvelope(request.id, admin.create(request.state.auth!, request.body), app.mock.now()))
    })

    app.delete<{ Params: { id: string } }>(prefix + '/:id', { config: { admin: true }, schema: { response: { 200: envelopeSchema(keySchema), '4xx': errorSchema } } }, function (request, reply) {
      reply.send(dataEnvelope(request.id, admin.revoke(request.state.auth!, request.params.id), app.mock.now()))
    })

    app.get<{ Params: { tenantId: string } }>(prefix + '/tenant/:tenantId', { config: { admin: true }, schema: { response: { 200: envelopeSchema({ type: 'array', items: keySchema }), '4xx': errorSchema } } }, function (request, reply) {
      reply.send(dataEnvelope(request.id, admin.list(request.state.auth!, request.params.tenantId), app.mock.now()))
    })

    // Documented without the data wrapper (2.6). Any live key may ask about itself.
    app.get(prefix + '/validate', { config: {}, schema: { response: { 200: validated, '4xx': errorSchema } } }, function (request, reply) {
      reply.send(admin.validate(request.state.auth!, request.state.rateLimit))
    })
  }
}
