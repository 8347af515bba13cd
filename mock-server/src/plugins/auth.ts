// API-key authentication (contract 1.2, 2). Order of checks: key present, key valid (format, known,
// not revoked, not expired), tenant header present, tenant matches, scope. Each refusal is a prebuilt
// error (no per-request data), and every attempt's outcome lands on request.state for the one log
// line and the record (2.7).
import fp from 'fastify-plugin'
import { ApiError, MESSAGES, type ErrorCode } from '../errors.ts'
import { hasScope, type KeyStore } from '../domain/key-store.ts'
import type { FastifyRequest } from 'fastify'

type AuthCode = 'missing_api_key' | 'invalid_api_key' | 'expired_api_key' | 'revoked_api_key' | 'missing_tenant_id' | 'tenant_mismatch' | 'insufficient_scope'

const FIELD: Record<AuthCode, string> = {
  missing_api_key: 'X-API-Key',
  invalid_api_key: 'X-API-Key',
  expired_api_key: 'X-API-Key',
  revoked_api_key: 'X-API-Key',
  missing_tenant_id: 'X-Tenant-Id',
  tenant_mismatch: 'X-Tenant-Id',
  insufficient_scope: 'scope'
}

/** One error object per code, built at registration (house style principle 2). */
function buildErrors (fieldFor: (code: AuthCode) => string): Record<AuthCode, ApiError> {
  const out = {} as Record<AuthCode, ApiError>
  for (const code of Object.keys(FIELD) as AuthCode[]) {
    out[code] = new ApiError(code, MESSAGES[code], [{ field: fieldFor(code), message: MESSAGES[code] }])
  }
  return out
}

/** The presented key: X-API-Key wins over Authorization: Bearer (contract 1.2). */
export function presentedKey (headers: FastifyRequest['headers'], header: 'x-api-key' | 'x-admin-api-key'): { key: string | undefined, via: string | undefined } {
  const k = headers[header]
  if (typeof k === 'string' && k.length > 0) return { key: k, via: header }
  if (header === 'x-api-key') {
    const a = headers.authorization
    if (typeof a === 'string' && a.length > 7 && a.slice(0, 7).toLowerCase() === 'bearer ') return { key: a.slice(7).trim(), via: 'authorization' }
  }
  return { key: undefined, via: undefined }
}

export default fp(async function auth (app, opts: { keys: () => KeyStore }) {
  const errors = buildErrors((c) => FIELD[c])
  const adminErrors = buildErrors((c) => (FIELD[c] === 'X-API-Key' ? 'X-Admin-API-Key' : FIELD[c]))

  function refuse (request: FastifyRequest, code: ErrorCode, keyRef: string | undefined, tenantId?: string): void {
    request.state.authOutcome = 'refused'
    request.state.authCode = code
    request.state.keyRef = keyRef
    request.state.authTenant = tenantId
  }

  app.addHook('onRequest', function (request, _reply, done) {
    if (request.is404) { done(); return }
    const cfg = request.state.config
    if (cfg.public === true || cfg.control === true) { done(); return }
    const admin = cfg.admin === true
    const errs = admin ? adminErrors : errors
    const { key } = presentedKey(request.headers, admin ? 'x-admin-api-key' : 'x-api-key')
    if (key === undefined) { refuse(request, 'missing_api_key', undefined); done(errs.missing_api_key); return }
    const v = opts.keys().verify(key)
    if (!v.ok) { refuse(request, v.code, v.keyRef, v.tenantId); done(errs[v.code as AuthCode]); return }
    const { key: record, tenant } = v
    request.state.keyRef = record.id
    if (admin) {
      // Admin routes are bound to the admin key's tenant by the route itself (3.4); X-Tenant-Id is optional.
      if (!hasScope(record.scopes, 'admin:*')) { refuse(request, 'insufficient_scope', record.id, tenant.id); done(errs.insufficient_scope); return }
    } else {
      const t = request.headers['x-tenant-id']
      // A key-validation call may omit the tenant; every other route needs it (1.2).
      if (typeof t !== 'string' || t.length === 0) {
        if (cfg.scope !== undefined) { refuse(request, 'missing_tenant_id', record.id, tenant.id); done(errs.missing_tenant_id); return }
      } else if (t !== tenant.id && t !== tenant.slug) {
        refuse(request, 'tenant_mismatch', record.id, tenant.id); done(errs.tenant_mismatch); return
      }
      if (cfg.scope !== undefined && !hasScope(record.scopes, cfg.scope)) { refuse(request, 'insufficient_scope', record.id, tenant.id); done(errs.insufficient_scope); return }
    }
    request.state.authOutcome = 'ok'
    request.state.auth = { tenantId: tenant.id, tenantSlug: tenant.slug, keyId: record.id, scopes: record.scopes, rateLimit: record.rateLimit }
    done()
  })
}, { name: 'mock-auth', dependencies: ['mock-request-context'] })
