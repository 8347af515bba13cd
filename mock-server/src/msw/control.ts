// The control API of contract 7.4 (tenants, keys, faults, events, record, reset) as functions, for
// tests that run the msw handlers in process: validated as the HTTP control routes validate it.
import type { MockContext } from '../context.ts'
import { valueTooDeep } from '../domain/json-limits.ts'
import { redactSecrets } from '../domain/secret-windows.ts'
import { ApiError } from '../errors.ts'
import { isValidSubject } from '../domain/event-log/subjects.ts'
import { validateFaultPlan, type FaultPlanInput } from '../domain/fault-plan.ts'
import type { RecordEntry } from '../domain/record.ts'
import { eventBody } from '../sse/frames.ts'
import type { StreamRegistry } from '../sse/registry.ts'
import { objectBody } from '../validate.ts'
import { keyCreateInput, tenantCreateInput } from '../control-input.ts'

/** What a key-creating helper returns: the full key, shown this once (contract 2.3). */
export interface CreatedKey {
  id: string
  key: string
  tenantId: string
  tenantSlug: string
}

export function createControlHelpers (mock: MockContext, registry: StreamRegistry) {
  function tenantOf (idOrSlug: string) {
    const t = mock.keys.tenant(idOrSlug)
    if (t === undefined) throw new ApiError('not_found', 'No such tenant.', [{ field: 'tenant', message: 'unknown tenant id or slug' }])
    return t
  }

  return {
    /** A new tenant and its first key (POST /__harness/tenants; same checks, control-input.ts). */
    createTenant (input: { slug?: string, quota?: number, name?: string, scopes?: string[], rateLimit?: number, network?: string } = {}) {
      const i = tenantCreateInput(mock, input)
      const tenant = mock.addTenant(i.slug, i.quota !== undefined ? { quota: i.quota } : {})
      const { record: k, key } = mock.keys.createKey(tenant, i.key)
      return { tenant: { id: tenant.id, slug: tenant.slug }, key: { id: k.id, key } }
    },

    /** A new key for a tenant named by id or slug (POST /__harness/keys); scopes default to every non-admin scope. */
    createKey (tenant: string, input: { name?: string, scopes?: string[], rateLimit?: number, expiresAt?: string, network?: string } = {}): CreatedKey {
      // The tenant goes in the body, where the HTTP route reads it; a `tenant` inside input cannot override it.
      const i = keyCreateInput(mock, { ...objectBody(input), tenant })
      const { record: k, key } = mock.keys.createKey(i.tenant, i.key)
      return { id: k.id, key, tenantId: i.tenant.id, tenantSlug: i.tenant.slug }
    },

    /** Revoke every live key of a tenant at once (POST /__harness/tenants/:tenant/revoke-keys). */
    revokeTenantKeys (tenant: string) {
      const t = tenantOf(tenant)
      return { tenant: t.id, revoked: mock.keys.revokeTenant(t.id).map((k) => ({ id: k.id, revokedAt: new Date(k.revokedAtMs!).toISOString() })) }
    },

    /** Revoke a key by id (DELETE /__harness/keys/:id); its open streams close at once (2.5). */
    revokeKey (id: string) {
      const k = mock.keys.revoke(id)
      if (k === undefined) throw new ApiError('not_found', 'No such key.', [{ field: 'id', message: 'unknown key id' }])
      return { id: k.id, revokedAt: new Date(k.revokedAtMs!).toISOString() }
    },

    /** Set the fault plan (PUT /__harness/faults); validated like the control API validates it. */
    setFaults (plan: FaultPlanInput | unknown) {
      const p = mock.setFaults(validateFaultPlan(plan))
      return { seed: p.seed, faults: p.spec.faults }
    },

    clearFaults (): void {
      mock.setFaults({ faults: [] })
    },

    /** Publish an event for a tenant (POST /__harness/events): the stored event with its sequence. */
    async publish (tenant: string, type: string, data: unknown = {}) {
      if (!isValidSubject(type)) throw new ApiError('validation_error', 'The event is invalid; see details.', [{ field: 'type', message: 'required: a subject such as wallet.created (tokens of [A-Za-z0-9_-] separated by dots, no wildcards)' }])
      // As POST /__harness/events: nothing stored can fail to serialise later.
      const max = mock.config.bodyMaxDepth
      if (valueTooDeep(data, max)) throw new ApiError('validation_error', 'The event is invalid; see details.', [{ field: 'data', message: `nested deeper than ${max} levels` }])
      const text = JSON.stringify(data) ?? ''
      if (redactSecrets(text) !== text) throw new ApiError('validation_error', 'The event is invalid; see details.', [{ field: 'data', message: 'must not contain an API key or a piece of one' }])
      const e = await mock.events.publish(tenantOf(tenant).id, type, data)
      return { seq: e.seq, ...eventBody(e) }
    },

    /** The request record (GET /__harness/record): entries with seq > after. */
    record (after = 0): RecordEntry[] {
      return [...mock.record.after(after)]
    },

    /** Open event streams, for one key or all. */
    openStreams (keyId?: string): number {
      return registry.count(keyId)
    },

    /** Back to the seeded start (POST /__harness/reset): tenants, keys, events, record, faults, limits. */
    reset (): void {
      mock.reset()
    }
  }
}
