// GET /openapi.json: the OpenAPI 3.1 description of this mock (openapi.ts), public like health (1.7).
// Built and serialised once, at registration.
import type { FastifyInstance } from 'fastify'
import { buildOpenApi } from '../openapi.ts'

export default async function openApiRoutes (app: FastifyInstance) {
  const body = JSON.stringify(buildOpenApi())
  app.get('/openapi.json', { config: { public: true, rateLimit: false } }, function (_request, reply) {
    reply.type('application/json; charset=utf-8').send(body)
  })
}
