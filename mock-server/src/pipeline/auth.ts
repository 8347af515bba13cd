// Step 2: authentication (contract 1.2, 2). Every refusal is built once at load: it carries no
// per-request data.
import { ApiError, MESSAGES } from '../errors.ts'
import type { AuthContext, RequestState, RouteAccess } from '../types.ts'
import { DEFAULT_NETWORK, hasScope, type DigestMemo, type KeyStore } from '../domain/key-store.ts'
import type { HeaderBag } from './request-id.ts'

type AuthCode = 'missing_api_key' | 'invalid_api_key' | 'expired_api_key' | 'revoked_api_key' | 'missing_tenant_id' | 'tenant_mismatch' | 'insufficient_scope' | 'network_mismatch'

const AUTH_FIELD: Record<AuthCode, string> = {
  missing_api_key: 'X-API-Key',
  invalid_api_key: 'X-API-Key',
  expired_api_key: 'X-API-Key',
  revoked_api_key: 'X-API-Key',
  missing_tenant_id: 'X-Tenant-Id',
  tenant_mismatch: 'X-Tenant-Id',
  insufficient_scope: 'scope',
  network_mismatch: 'X-Network'
}

function buildAuthErrors (fieldFor: (code: AuthCode) => string): Record<AuthCode, ApiError> {
  const out = {} as Record<AuthCode, ApiError>
  for (const code of Object.keys(AUTH_FIELD) as AuthCode[]) {
    out[code] = new ApiError(code, MESSAGES[code], [{ field: fieldFor(code), message: MESSAGES[code] }])
  }
  return out
}

const AUTH_ERRORS = buildAuthErrors((c) => AUTH_FIELD[c])
const ADMIN_AUTH_ERRORS = buildAuthErrors((c) => (AUTH_FIELD[c] === 'X-API-Key' ? 'X-Admin-API-Key' : AUTH_FIELD[c]))

/** The presented key: X-API-Key wins over Authorization: Bearer (contract 1.2). */
export function presentedKey (headers: HeaderBag, header: 'x-api-key' | 'x-admin-api-key'): { key: string | undefined, via: string | undefined } {
  const k = headers[header]
  if (typeof k === 'string' && k.length > 0) return { key: k, via: header }
  if (header === 'x-api-key') {
    const a = headers.authorization
    if (typeof a === 'string' && a.length > 7 && a.slice(0, 7).toLowerCase() === 'bearer ') return { key: a.slice(7).trim(), via: 'authorization' }
  }
  return { key: undefined, via: undefined }
}

export type AuthResult =
  /** `auth` is undefined on public and control routes, which need no key. */
  | { ok: true, auth: AuthContext | undefined, keyRef: string | undefined }
  /** `tenantId`: on a refused attempt, the tenant the key belongs to (or claims) when it exists (2.7). */
  | { ok: false, error: ApiError, code: AuthCode, keyRef: string | undefined, tenantId: string | undefined }

function refused (code: AuthCode, admin: boolean, keyRef: string | undefined, tenantId: string | undefined): AuthResult {
  return { ok: false, error: (admin ? ADMIN_AUTH_ERRORS : AUTH_ERRORS)[code], code, keyRef, tenantId }
}

/**
 * Contract 2, in this order: key present, key valid (format, known, not revoked, not expired), then
 * for tenant routes the tenant header present and matching, then the route's scope. Admin routes
 * (2.6) read X-Admin-API-Key and need admin:*; the route itself binds them to the key's tenant (3.4).
 */
export function authenticate (headers: HeaderBag, keys: KeyStore, access: RouteAccess, memo?: DigestMemo): AuthResult {
  if (access.public === true || access.control === true) return { ok: true, auth: undefined, keyRef: undefined }
  const admin = access.admin === true
  const { key } = presentedKey(headers, admin ? 'x-admin-api-key' : 'x-api-key')
  if (key === undefined) return refused('missing_api_key', admin, undefined, undefined)
  const v = keys.verify(key, memo)
  if (!v.ok) return refused(v.code as AuthCode, admin, v.keyRef, v.tenantId)
  const { key: record, tenant } = v
  if (admin) {
    if (!hasScope(record.scopes, 'admin:*')) return refused('insufficient_scope', true, record.id, tenant.id)
  } else {
    const t = headers['x-tenant-id']
    // A key-validation call may omit the tenant; every other route needs it (1.2).
    if (typeof t !== 'string' || t.length === 0) {
      if (access.scope !== undefined) return refused('missing_tenant_id', false, record.id, tenant.id)
    } else if (t !== tenant.id && t !== tenant.slug) {
      return refused('tenant_mismatch', false, record.id, tenant.id)
    }
    // A key bound to one network (separate keys per environment) is refused on any other; X-Network
    // itself was validated in step 1 (contract 1.2: devnet when absent).
    if (record.network !== undefined) {
      const n = headers['x-network']
      if ((typeof n === 'string' ? n : DEFAULT_NETWORK) !== record.network) return refused('network_mismatch', false, record.id, tenant.id)
    }
    if (access.scope !== undefined && !hasScope(record.scopes, access.scope)) return refused('insufficient_scope', false, record.id, tenant.id)
  }
  return { ok: true, auth: { tenantId: tenant.id, tenantSlug: tenant.slug, keyId: record.id, scopes: record.scopes, rateLimit: record.rateLimit }, keyRef: record.id }
}

/** Write an authentication outcome onto the request state (2.7). */
export function applyAuth (state: RequestState, r: AuthResult): void {
  state.keyRef = r.keyRef
  if (r.ok) {
    if (r.auth !== undefined) {
      state.authOutcome = 'ok'
      state.auth = r.auth
    }
    return
  }
  state.authOutcome = 'refused'
  state.authCode = r.code
  state.authTenant = r.tenantId
}
