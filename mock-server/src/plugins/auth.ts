// API-key authentication (contract 1.2, 2), as a step of the request pipeline. The checks, their
// order and their prebuilt refusals live in pipeline/auth.ts `authenticate`, which the msw handlers
// run too; every attempt's outcome lands on request.state for the one log line and the record (2.7).
import fp from 'fastify-plugin'
import type { Socket } from 'node:net'
import type { FastifyRequest } from 'fastify'
import type { DigestMemo, KeyStore } from '../domain/key-store.ts'
import { ApiError, MESSAGES } from '../errors.ts'
import { applyAuth, authenticate } from '../pipeline/index.ts'

const stateUnavailable = new ApiError('service_unavailable', MESSAGES.service_unavailable, [{ field: 'retryAfter', message: '1' }], { 'retry-after': '1' })

const kMemo = Symbol('tenzro.keyDigestMemo')

/** The connection's digest memo (domain/key-store.ts DigestMemo): lives and dies with the socket. */
function memoOf (request: FastifyRequest): DigestMemo | undefined {
  const socket = request.raw.socket as (Socket & { [kMemo]?: DigestMemo }) | null
  if (socket === null || socket === undefined) return undefined
  let memo = socket[kMemo]
  if (memo === undefined) { memo = { key: undefined, hash: '', store: undefined }; socket[kMemo] = memo }
  return memo
}

export default fp(async function auth (app, opts: { keys: () => KeyStore, catchUp?: (() => Promise<void>) | undefined }) {
  const { catchUp } = opts
  app.addRequestStep(function authStep (request) {
    if (request.is404) return undefined
    const r = authenticate(request.headers, opts.keys(), request.state.config, memoOf(request))
    // Shared state: a key made on another instance a moment ago may not be applied here yet. Ask for
    // every change stored until now, then decide (only on this miss; a known key answers at once).
    if (catchUp !== undefined && !r.ok && r.code === 'invalid_api_key' && r.keyRef !== undefined) {
      return catchUp().then(() => {
        const again = authenticate(request.headers, opts.keys(), request.state.config)
        applyAuth(request.state, again)
        return again.ok ? undefined : again.error
      }, () => {
        applyAuth(request.state, r)
        return stateUnavailable
      })
    }
    applyAuth(request.state, r)
    return r.ok ? undefined : r.error
  })
}, { name: 'mock-auth', dependencies: ['mock-request-context'] })
