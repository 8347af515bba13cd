// Route bodies of key administration (contract 2.6), shared by the Fastify routes and the msw handlers.
import type { MockContext } from '../context.ts'
import { ApiError, MESSAGES, type ErrorDetail } from '../errors.ts'
import type { AuthContext } from '../types.ts'
import { describeKey, DEFAULT_SCOPES, type Tenant } from '../domain/key-store.ts'
import type { LimitDecision } from '../domain/limiter/types.ts'
import { checkObject, keyFields, objectBody, throwIfDetails } from '../validate.ts'
import { KEY_CREATE, KEY_FIELD_NAMES } from '../schemas.ts'

const adminTenantMismatch = new ApiError('tenant_mismatch', MESSAGES.tenant_mismatch, [{ field: 'tenantId', message: 'not the admin key\'s tenant' }])
const adminKeyNotFound = new ApiError('not_found', 'No such key for this tenant.', [{ field: 'id', message: 'unknown key id' }])

/**
 * Key administration (2.6): an admin key manages its own tenant only (3.4): another tenant's id is
 * 403 tenant_mismatch, another tenant's key id is 404 as if it did not exist. Returns `data` objects.
 */
export function keyAdmin (mock: MockContext) {
  function ownTenant (auth: AuthContext, idOrSlug: unknown): Tenant {
    if (typeof idOrSlug !== 'string' || (idOrSlug !== auth.tenantId && idOrSlug !== auth.tenantSlug)) throw adminTenantMismatch
    return mock.keys.tenant(auth.tenantId)!
  }
  return {
    ownTenant,
    /** POST /api/keys: the new key's description with the full `key`, shown this once. */
    create (auth: AuthContext, body: unknown) {
      const o = objectBody(body)
      const d: ErrorDetail[] = []
      checkObject(KEY_CREATE, o, d, KEY_FIELD_NAMES)
      const input = keyFields(o, d, mock.now(), { scopes: DEFAULT_SCOPES })
      throwIfDetails(d, 'The key')
      const tenant = ownTenant(auth, o.tenantId)
      const { record, key } = mock.keys.createKey(tenant, input)
      return { ...describeKey(record), key }
    },
    /** DELETE /api/keys/:id */
    revoke (auth: AuthContext, id: string) {
      const k = mock.keys.key(id)
      if (k === undefined || k.tenantId !== auth.tenantId) throw adminKeyNotFound
      mock.keys.revoke(k.id)
      return describeKey(k)
    },
    /** GET /api/keys/tenant/:tenantId */
    list (auth: AuthContext, tenantId: string) {
      return mock.keys.keysOf(ownTenant(auth, tenantId).id).map(describeKey)
    },
    /** GET /api/keys/validate: documented without the data wrapper (2.6). */
    validate (auth: AuthContext, rl: LimitDecision | undefined) {
      const cfg = mock.config.rateLimit
      const limit = rl?.limit ?? auth.rateLimit ?? cfg.limit
      return {
        valid: true,
        tenantId: auth.tenantId,
        scopes: auth.scopes,
        rateLimit: { limit, remaining: rl?.remaining ?? limit, resetsAt: new Date(rl?.resetAtMs ?? mock.now() + cfg.windowMs).toISOString() }
      }
    }
  }
}
