// Wallets (contract 3): list with tamper-evident cursors (3.2), create with validation (3.3). The
// bodies are pipeline/wallets.ts's, shared with the msw handlers.
import type { FastifyInstance } from 'fastify'
import { envelopeSchema, errorSchema, walletSchema } from '../envelope.ts'
import { createWallet, dataEnvelope, walletListPayload } from '../pipeline/index.ts'

export default async function walletRoutes (app: FastifyInstance) {
  app.get('/api/wallet/list', {
    config: { scope: 'wallet:read' },
    schema: {
      response: {
        200: envelopeSchema({ type: 'array', items: walletSchema }),
        '4xx': errorSchema
      }
    }
  }, function (request, reply) {
    // Already JSON (spliced from per-wallet JSON cached at creation): the list is the hot path of every load test.
    reply.type('application/json; charset=utf-8').send(walletListPayload(app.mock, request.state.auth!, request.query, request.id))
  })

  app.post('/api/wallet/create', {
    config: { scope: 'wallet:write' },
    schema: {
      response: {
        201: envelopeSchema(walletSchema),
        '4xx': errorSchema
      }
    }
  }, async function (request, reply) {
    const wallet = await createWallet(app.mock, request.state.auth!, request.body, (err) => {
      request.log.warn({ err: { message: err.message } }, 'wallet.created not published')
    }, (tenantId, subject, data) => app.telemetry.publish(app.mock.events, tenantId, subject, data, request))
    // Returned: an async handler that only calls send() would be answered twice when an onSend hook waits (shared state).
    return reply.code(201).send(dataEnvelope(request.id, wallet, app.mock.now()))
  })
}
