// The mock's state, framework-free: the Fastify app and the msw handlers both serve from one of these,
// so the two mocks cannot drift apart (house style, "Layout").
import type { MockConfig } from './config.ts'
import type { EventLog } from './domain/event-log/types.ts'
import { createFaultPlan, type FaultPlan, type FaultPlanInput } from './domain/fault-plan.ts'
import { createIdempotencyStore } from './domain/idempotency-store.ts'
import { createKeyStore, type Tenant } from './domain/key-store.ts'
import { createRecord } from './domain/record.ts'
import { createWalletStore } from './domain/wallet-store.ts'
import type { SharedState } from './domain/shared/index.ts'

export interface MockDeps {
  /** Epoch ms; inject a fake clock in tests (house style principle 3). */
  now?: () => number
  /** The event log (contract 4); buildApp creates one from config.events when absent. */
  events?: EventLog
  /** State shared with other instances (config.state.store); absent, every store is this process's own. */
  shared?: SharedState
}

export function createMockContext (config: MockConfig, deps: MockDeps = {}) {
  const now = deps.now ?? Date.now
  const shared = deps.shared
  const keys = createKeyStore({ seed: config.seed, now, ...(shared === undefined ? {} : { pepper: shared.pepper, idRandom: shared.random }) })
  const wallets = createWalletStore({ seed: config.seed, now, fixturesPerTenant: config.walletsPerTenant, ...(shared === undefined ? {} : { createRandom: shared.random }) })
  const record = createRecord({ capacity: config.record.capacity, file: config.record.file, now })
  const idempotency = createIdempotencyStore({ ttlMs: config.idempotency.ttlMs, capacity: config.idempotency.capacity, now })
  let faults: FaultPlan = createFaultPlan({ faults: [] }, config.seed)
  const resetListeners = new Set<() => void>()
  const faultListeners = new Set<(plan: FaultPlan) => void>()

  function addTenant (slug: string, opts: { id?: string, quota?: number } = {}): Tenant {
    const tenant = keys.addTenant({ slug, ...opts })
    wallets.addTenant(tenant.id, tenant.slug)
    return tenant
  }

  function seed (): void {
    for (const t of config.tenants) {
      const tenant = addTenant(t.slug, { ...(t.id === undefined ? {} : { id: t.id }), ...(t.quota === undefined ? {} : { quota: t.quota }) })
      for (const k of t.keys ?? []) {
        keys.importKey(tenant, k.key, {
          ...(k.name === undefined ? {} : { name: k.name }),
          ...(k.scopes === undefined ? {} : { scopes: k.scopes }),
          ...(k.rateLimit === undefined ? {} : { rateLimit: k.rateLimit }),
          ...(k.expiresAt === undefined ? {} : { expiresAtMs: Date.parse(k.expiresAt) })
        })
      }
    }
  }
  seed()

  const context = {
    config,
    now,
    shared,
    keys,
    wallets,
    record,
    idempotency,
    addTenant,
    events: deps.events as EventLog,
    get faults (): FaultPlan { return faults },
    setFaults (input: FaultPlanInput): FaultPlan {
      faults = createFaultPlan(input, config.seed)
      for (const l of faultListeners) l(faults)
      return faults
    },
    /** Hear about every new fault plan (the TLS mode schedules its transport faults from it). */
    onFaults (listener: (plan: FaultPlan) => void): () => void {
      faultListeners.add(listener)
      return () => { faultListeners.delete(listener) }
    },
    /** Back to the seeded start (contract 7.4 reset). */
    reset (): void {
      for (const l of resetListeners) l()
      keys.clear()
      wallets.clear()
      record.clear()
      idempotency.clear()
      faults = createFaultPlan({ faults: [] }, config.seed)
      for (const l of faultListeners) l(faults)
      seed()
    },
    onReset (listener: () => void): () => void {
      resetListeners.add(listener)
      return () => { resetListeners.delete(listener) }
    }
  }
  shared?.attach(context)
  return context
}

export type MockContext = ReturnType<typeof createMockContext>
