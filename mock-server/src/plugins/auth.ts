// API-key authentication (contract 1.2, 2), as a step of the request pipeline. The checks, their
// order and their prebuilt refusals live in pipeline/auth.ts `authenticate`, which the msw handlers
// run too; every attempt's outcome lands on request.state for the one log line and the record (2.7).
import fp from 'fastify-plugin'
import type { KeyStore } from '../domain/key-store.ts'
import { applyAuth, authenticate } from '../pipeline/index.ts'

export default fp(async function auth (app, opts: { keys: () => KeyStore }) {
  app.addRequestStep(function authStep (request) {
    if (request.is404) return undefined
    const r = authenticate(request.headers, opts.keys(), request.state.config)
    applyAuth(request.state, r)
    return r.ok ? undefined : r.error
  })
}, { name: 'mock-auth', dependencies: ['mock-request-context'] })
