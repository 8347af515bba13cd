// State shared with other instances (domain/shared/), as steps of the request pipeline; registered
// only when config.state.store names Redis, so the default mock pays nothing. A control API request
// first applies every change other instances have stored (a tenant made there is known here), and a
// request that changes state answers only once its changes are stored, so what a client learns from
// this instance every other instance can look up.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { SharedState } from '../domain/shared/index.ts'
import { ApiError, MESSAGES } from '../errors.ts'

const unavailable = new ApiError('service_unavailable', MESSAGES.service_unavailable, [{ field: 'retryAfter', message: '1' }], { 'retry-after': '1' })
const unavailableAnswer = () => unavailable

export default fp(async function sharedState (app, opts: { shared: SharedState }) {
  const { shared } = opts
  app.addRequestStep(function catchUpStep (request) {
    if (request.state.config?.control !== true) return undefined
    return shared.catchUp().then(() => undefined, unavailableAnswer)
  })
  app.addHook('onSend', async function settle (request: FastifyRequest, _reply: FastifyReply, payload: unknown) {
    if (request.method === 'GET' || request.method === 'HEAD') return payload
    try {
      await shared.settled()
    } catch {
      // Redis did not take the change: this instance has it, the others may not (README "Scale-out").
      throw unavailable
    }
    return payload
  })
}, { name: 'mock-shared-state', dependencies: ['mock-request-context'] })
