// The bodies of POST /__harness/tenants and POST /__harness/keys (API 7.4), checked once for both
// twins: the HTTP control routes and the in-process helpers of the msw handlers. A body one of them
// accepts, the other accepts; a body one refuses, the other refuses with the same details.
import type { MockContext } from './context.ts'
import { ApiError, type ErrorDetail } from './errors.ts'
import { DEFAULT_SCOPES } from './domain/key-store.ts'
import { HARNESS_KEY_CREATE, HARNESS_TENANT_CREATE, KEY_FIELD_NAMES } from './schemas.ts'
import { checkObject, keyFields, objectBody, throwIfDetails, type KeyCreateInput } from './validate.ts'

/** A tenant to create: its slug (free one if absent), its quota, and its first key. */
export function tenantCreateInput (mock: MockContext, body: unknown): { slug: string, quota?: number, key: KeyCreateInput } {
  const o = objectBody(body ?? {})
  const d: ErrorDetail[] = []
  checkObject(HARNESS_TENANT_CREATE, o, d, KEY_FIELD_NAMES)
  if (typeof o.slug === 'string' && !d.some((x) => x.field === 'slug') && mock.keys.tenant(o.slug) !== undefined) d.push({ field: 'slug', message: 'a tenant with this slug exists' })
  const key = keyFields(o, d, mock.now(), { scopes: DEFAULT_SCOPES })
  throwIfDetails(d, 'The tenant')
  return { slug: typeof o.slug === 'string' ? o.slug : mock.keys.freeSlug(), ...(typeof o.quota === 'number' ? { quota: o.quota } : {}), key }
}

/** A key to create for an existing tenant (named by id or slug in `tenant`). */
export function keyCreateInput (mock: MockContext, body: unknown): { tenant: NonNullable<ReturnType<MockContext['keys']['tenant']>>, key: KeyCreateInput } {
  const o = objectBody(body)
  const d: ErrorDetail[] = []
  checkObject(HARNESS_KEY_CREATE, o, d, KEY_FIELD_NAMES)
  const key = keyFields(o, d, mock.now(), { scopes: DEFAULT_SCOPES })
  throwIfDetails(d, 'The key')
  const tenant = mock.keys.tenant(o.tenant as string)
  if (tenant === undefined) throw new ApiError('not_found', 'No such tenant.', [{ field: 'tenant', message: 'unknown tenant id or slug' }])
  return { tenant, key }
}
