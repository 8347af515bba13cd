// The control API is for the harness, not for clients (contract 7.1): loopback only unless allowed,
// and the control token when one is configured, compared in constant time.
import { timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import { ApiError } from '../errors.ts'

export function isLoopback (address: string | undefined): boolean {
  if (address === undefined) return false
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.')
}

export default fp(async function controlGuard (app, opts: { token: string | undefined, allowRemote: boolean }) {
  const token = opts.token === undefined ? undefined : Buffer.from(opts.token)
  const remoteRefused = new ApiError('insufficient_scope', 'The control API answers on loopback only; start the mock with controlAllowRemote to open it.', [{ field: 'client', message: 'not a loopback address' }])
  const tokenRefused = new ApiError('invalid_api_key', 'The control API needs the X-Harness-Token the mock was started with.', [{ field: 'X-Harness-Token', message: 'missing or wrong' }])

  app.addRequestStep(function controlGuardStep (request) {
    if (request.state.config.control !== true) return undefined
    if (!opts.allowRemote && !isLoopback(request.socket.remoteAddress)) return remoteRefused
    if (token !== undefined) {
      const given = request.headers['x-harness-token']
      const b = typeof given === 'string' ? Buffer.from(given) : undefined
      if (b === undefined || b.length !== token.length || !timingSafeEqual(b, token)) return tokenRefused
    }
    return undefined
  })
}, { name: 'mock-control-guard', dependencies: ['mock-request-context'] })
