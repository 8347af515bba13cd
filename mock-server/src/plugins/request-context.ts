// Per-request state, X-Request-Id and X-API-Version on every response, and the common header checks
// of contract 1.2/1.3. Runs first, for every route including 404s.
import fp from 'fastify-plugin'
import { ApiError } from '../errors.ts'
import type { RequestState } from '../types.ts'

const NETWORKS = new Set(['devnet', 'testnet', 'mainnet'])
const NO_CONFIG: RequestState['config'] = Object.freeze({})

/** A fresh per-request state; also used by app.ts for requests Fastify refuses before any hook runs. */
export function createRequestState (): RequestState {
  return {
    startNs: process.hrtime.bigint(),
    config: NO_CONFIG,
    route: undefined,
    auth: undefined,
    authOutcome: undefined,
    authCode: undefined,
    keyRef: undefined,
    rateLimit: undefined,
    faults: undefined,
    idempotencyKey: undefined,
    replayed: false,
    errorCode: undefined,
    traceId: undefined
  }
}

export default fp(async function requestContext (app) {
  app.decorateRequest('state', null as unknown as RequestState)

  app.addHook('onRequest', function (request, reply, done) {
    const state = createRequestState()
    const ro = request.routeOptions
    state.config = ro.config
    state.route = ro.url
    request.state = state
    reply.header('x-request-id', request.id)
    reply.header('x-api-version', '1')
    const h = request.headers
    const version = h['x-api-version']
    if (version !== undefined && version !== '1') {
      done(new ApiError('unsupported_api_version', 'X-API-Version must be 1 (or absent).', [{ field: 'X-API-Version', message: 'must be 1' }]))
      return
    }
    const network = h['x-network']
    if (network !== undefined && (typeof network !== 'string' || !NETWORKS.has(network))) {
      done(new ApiError('validation_error', 'X-Network must be devnet, testnet or mainnet.', [{ field: 'X-Network', message: 'must be devnet, testnet or mainnet' }]))
      return
    }
    done()
  })
}, { name: 'mock-request-context' })
