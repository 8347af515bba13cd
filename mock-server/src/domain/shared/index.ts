// Shared state for instances that serve as one (config.state.store = redis://...): tenants and keys,
// revocations, wallets, fault plans and resets travel on the change feed (feed.ts) into every
// instance's in-memory stores; idempotency records (idempotency.ts) and the merged record (record.ts)
// live in Redis. With the default 'memory' store none of this is loaded and nothing on the request
// path changes.
//
// Writes are applied here first (synchronously, as without a shared store) and then appended to the
// feed; a mutating request's answer waits until its changes are stored (`settled`), so whatever a
// client learns from one instance, every other can look up. A miss (a key not known here yet) asks for
// the feed up to now (`catchUp`) before refusing.
import { randomBytes, randomInt, randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { FaultPlanInput } from '../fault-plan.ts'
import type { KeyRecord, KeyStore, Tenant } from '../key-store.ts'
import type { Wallet, WalletStore } from '../wallet-store.ts'
import { createFeed, type Feed, type FeedOp } from './feed.ts'
import { createSharedIdempotencyStore, type SharedIdempotencyStore } from './idempotency.ts'
import { createSharedRecord, type SharedRecord } from './record.ts'
import { createSharedStreamSlots } from './stream-slots.ts'
import { createSharedFaultCounters } from './fault-counters.ts'

export type { SharedIdempotencyStore } from './idempotency.ts'
export type { SharedRecord } from './record.ts'
export type { SharedFaultCounters } from './fault-counters.ts'

/** What of the mock's context the shared state writes through and applies the feed to. */
export interface SharedTarget {
  keys: KeyStore
  wallets: WalletStore
  record: { append: (...a: never[]) => number, appendJson: (...a: never[]) => string }
  addTenant: (slug: string, opts?: { id?: string, quota?: number }) => Tenant
  setFaults: (input: FaultPlanInput) => unknown
  reset: () => void
}

export interface SharedStateOptions {
  /** redis:// or rediss:// URL. */
  url: string
  /** Prefix of every Redis key; instances that serve as one use the same. */
  prefix?: string
  idempotencyTtlMs: number
  recordCapacity: number
  onError: (err: Error, what: string) => void
}

/** Unseeded floats in [0, 1) for ids made on several instances at once. */
function unseeded (): number {
  return randomInt(0, 2 ** 47) / 2 ** 47
}

export async function createSharedState ({ url, prefix = 'tnz:state:', idempotencyTtlMs, recordCapacity, onError }: SharedStateOptions) {
  const instance = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
  let apply: (op: FeedOp) => void = () => {}
  let feed: Feed
  try {
    feed = await createFeed({ url, key: `${prefix}feed`, instance, apply: (op) => { apply(op) }, onError: (err) => { onError(err, 'state feed') } })
  } catch (err) {
    throw new Error(`cannot reach Redis at ${url} for shared state (${(err as Error).message}); start redis-server there, or set state.store to "memory"`, { cause: err })
  }
  const redis = feed.redis
  // One pepper for every instance, so a key's hash made on one verifies on all (domain/key-store.ts).
  await redis.set(`${prefix}pepper`, randomBytes(32).toString('base64url'), 'NX')
  const pepper = (await redis.get(`${prefix}pepper`))!
  const idempotency: SharedIdempotencyStore = createSharedIdempotencyStore({ redis, prefix, ttlMs: idempotencyTtlMs })
  const record: SharedRecord = createSharedRecord({ redis, prefix, instance, capacity: recordCapacity, onError: (err) => { onError(err, 'shared record') } })
  const faults = createSharedFaultCounters({ redis, prefix })
  const slots = createSharedStreamSlots({ redis, prefix, instance, onError: (err) => { onError(err, 'stream slots') } })
  let settled: Promise<unknown> = Promise.resolve()
  /** A change that could not be stored since the last settled(): the answer that waits for it fails. */
  let failure: Error | undefined

  function publish (op: Omit<FeedOp, 'o'>): void {
    // A change this instance applies only when the feed hands it back (`self`) is settled once it has.
    const stored = feed.publish(op)
    settled = (op.self === true ? stored.then((id) => feed.reached(id)) : stored).catch((err: Error) => { failure = err; onError(err, 'state feed') })
  }

  return {
    instance,
    pepper,
    /** Randomness for ids made here (keys, wallets), so ids made on two instances never collide. */
    random: unseeded,
    idempotency,
    record,
    catchUp: () => feed.catchUp(),
    /** Fault counters over every instance (fault-counters.ts). */
    faults,
    /** The stream cap of contract 5.5 over every instance, around this instance's own slots. */
    streamSlots: slots.wrap,
    /**
     * Resolves once every change made here so far is stored (a mutating answer waits for it); rejects
     * when one could not be, so that answer says so instead of claiming a change the others never see.
     */
    async settled (): Promise<void> {
      await Promise.all([settled, record.flushed()])
      const f = failure
      failure = undefined
      if (f !== undefined) throw f
    },

    /** Write `target`'s changes through to the feed and apply the other instances' changes to it. */
    attach (target: SharedTarget): void {
      const { keys, wallets } = target
      const addTenant = target.addTenant
      const createKey = keys.createKey
      const revoke = keys.revoke
      const setFaults = target.setFaults
      const reset = target.reset
      const appendJson = target.record.appendJson as (type: string, fields: Record<string, unknown>, context?: unknown) => string

      target.addTenant = (slug, opts = {}) => {
        const t = addTenant(slug, opts)
        publish({ op: 'tenant', slug: t.slug, id: t.id, quota: t.quota ?? null })
        return t
      }
      keys.createKey = (tenant, input) => {
        const made = createKey(tenant, input)
        publish({ op: 'key', record: made.record })
        return made
      }
      keys.revoke = (id) => {
        const before = keys.key(id)?.revokedAtMs
        const k = revoke(id)
        if (k !== undefined && before === undefined) publish({ op: 'revoke', id })
        return k
      }
      // A wallet is listed when the feed hands it back, here as everywhere: every instance lists the
      // tenant's wallets in the feed's order, so a list cursor from one instance pages on another.
      wallets.create = (tenantId, input) => {
        const w = wallets.build(tenantId, input)
        publish({ op: 'wallet', tenantId, wallet: w, self: true })
        return w
      }
      target.setFaults = (input) => {
        // Every instance counts this plan under one version: a plan set again starts from zero, as in one process.
        const v = randomUUID()
        faults.setVersion(v)
        const plan = setFaults(input)
        publish({ op: 'faults', input, v })
        return plan
      }
      target.reset = () => {
        reset()
        publish({ op: 'reset' })
        settled = Promise.all([settled, record.clear(), idempotency.clear()]).catch((err: Error) => { failure = err; onError(err, 'shared reset') })
      }
      // Every entry this instance records also goes to the merged record (append() goes through appendJson's closure, so both are wrapped).
      // The context goes through too: a request's state, which the metrics read (limiter decisions, 429 reasons).
      const rec = target.record as unknown as { append: (type: string, fields: Record<string, unknown>, context?: unknown) => number, appendJson: typeof appendJson }
      rec.appendJson = (type, fields, context) => {
        const line = appendJson(type, fields, context)
        record.add(line)
        return line
      }
      rec.append = (type, fields, context) => {
        const line = appendJson(type, fields, context)
        record.add(line)
        return Number(line.slice(7, line.indexOf(',')))
      }

      apply = (op) => {
        switch (op.op) {
          case 'tenant':
            if (keys.tenant(op.id as string) === undefined && keys.tenant(op.slug as string) === undefined) {
              addTenant(op.slug as string, { id: op.id as string, ...(op.quota === null ? {} : { quota: op.quota as number }) })
            }
            return
          case 'key': keys.adopt(op.record as KeyRecord); return
          case 'revoke': revoke(op.id as string); return
          case 'wallet': wallets.adopt(op.tenantId as string, op.wallet as Wallet); return
          case 'faults':
            faults.setVersion(op.v as string)
            setFaults(op.input as FaultPlanInput)
            return
          case 'reset': reset()
        }
      }
    },

    async close (): Promise<void> {
      slots.stop()
      await settled.catch(() => {})
      await feed.close()
    }
  }
}

export type SharedState = Awaited<ReturnType<typeof createSharedState>>
