// Public health (contract 1.7): no key, never rate limited.
import type { FastifyInstance } from 'fastify'
import { envelopeSchema, healthSchema } from '../envelope.ts'
import { dataEnvelope } from '../pipeline/index.ts'

export default async function healthRoutes (app: FastifyInstance) {
  const schema = { response: { 200: envelopeSchema(healthSchema) } }
  const ok = { status: 'ok' }
  app.get('/health', { config: { public: true, rateLimit: false }, schema }, function (request, reply) {
    reply.send(dataEnvelope(request.id, ok, app.mock.now()))
  })
}
