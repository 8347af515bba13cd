// Wallets (contract 3): list with tamper-evident cursors (3.2), create with validation (3.3).
import type { FastifyInstance } from 'fastify'
import { ApiError } from '../errors.ts'
import { envelopeSchema, errorSchema, walletSchema } from '../envelope.ts'
import { walletCreateBody, walletListQuery } from '../validate.ts'

export default async function walletRoutes (app: FastifyInstance) {
  const badCursor = new ApiError('validation_error', 'The cursor was not issued by this API to this tenant; start again without a cursor.', [{ field: 'cursor', message: 'not a valid cursor for this tenant' }])

  app.get('/api/wallet/list', {
    config: { scope: 'wallet:read' },
    schema: {
      response: {
        200: envelopeSchema({ type: 'array', items: walletSchema }),
        '4xx': errorSchema
      }
    }
  }, function (request, reply) {
    const mock = app.mock
    const auth = request.state.auth!
    const { limit, cursor, chain } = walletListQuery(request.query)
    let before: number | undefined
    if (cursor !== undefined) {
      before = mock.wallets.decodeCursor(auth.tenantId, cursor)
      if (before === undefined) throw badCursor
    }
    const page = mock.wallets.list(auth.tenantId, { limit, before, chain })
    const next = page.nextBefore === undefined ? null : mock.wallets.encodeCursor(auth.tenantId, page.nextBefore)
    // The page is spliced from per-wallet JSON cached at creation (fields fixed by the store, contract
    // 3.1) rather than re-serialised: the list is the hot path of every load test.
    reply.type('application/json; charset=utf-8').send(
      '{"data":' + page.json + ',"meta":{"requestId":' + JSON.stringify(request.id) + ',"timestamp":"' + new Date(mock.now()).toISOString() +
      '","cursor":' + (next === null ? 'null' : '"' + next + '"') + ',"hasMore":' + (next !== null) + '}}'
    )
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
    const mock = app.mock
    const auth = request.state.auth!
    const input = walletCreateBody(request.body)
    const wallet = mock.wallets.create(auth.tenantId, input)
    // Published after the wallet exists; a slow or failing event log never loses the wallet (3.3).
    if (mock.events !== undefined) {
      try {
        await mock.events.publish(auth.tenantId, 'wallet.created', wallet)
      } catch (err) {
        request.log.warn({ err: { message: (err as Error).message } }, 'wallet.created not published')
      }
    }
    reply.code(201).send({ data: wallet, meta: { requestId: request.id, timestamp: new Date(mock.now()).toISOString() } })
  })
}
