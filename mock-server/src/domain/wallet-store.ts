// Wallets per tenant (contract 3). Seeded fixtures (3.5), newest-first listing with tamper-evident
// cursors (3.2), and strict isolation: every lookup is keyed by the tenant (3.4).
import { createHash, hash, timingSafeEqual } from 'node:crypto'
import { addressFor, type Chain } from './addresses.ts'
import { deriveRandom } from './random.ts'

export const CHAINS = ['ethereum', 'solana', 'bitcoin'] as const
export const WALLET_TYPES = ['mpc', 'multi-sig', 'single'] as const
export type WalletType = typeof WALLET_TYPES[number]

export interface Wallet {
  id: string
  name: string
  type: WalletType
  chain: Chain
  address: string
  createdAt: string
}

interface TenantWallets {
  /** Oldest first; a wallet's position + 1 is its sequence, which cursors carry. */
  list: Wallet[]
  /** Each wallet's JSON, serialised once: wallets never change, and the list is the hot path. */
  json: string[]
  random: () => number
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'
const FIXTURE_EPOCH_MS = Date.UTC(2026, 0, 1)
const NAMES = ['Treasury', 'Payroll', 'Ops', 'Cold storage', 'Hot wallet', 'Settlement', 'Escrow', 'Rewards']

export interface ListResult {
  items: Wallet[]
  /** The items as a JSON array, from the per-wallet cache. */
  json: string
  /** Sequence to continue below, or undefined on the last page. */
  nextBefore: number | undefined
}

export interface WalletStoreOptions {
  seed: number
  now: () => number
  fixturesPerTenant: number
  /**
   * Randomness of wallets created through the API; the tenant's seeded one by default. Shared instances
   * (domain/shared/) pass an unseeded one, so wallets made on two instances get distinct ids. Fixtures
   * always come from the seed.
   */
  createRandom?: () => number
}

export function createWalletStore ({ seed, now, fixturesPerTenant, createRandom }: WalletStoreOptions) {
  const byTenant = new Map<string, TenantWallets>()
  const ids = new Set<string>()
  const cursorKey = createHash('sha256').update('tenzro-mock-cursor:' + String(seed)).digest('base64url')

  function bytes (random: () => number, n: number): Uint8Array {
    const b = new Uint8Array(n)
    for (let i = 0; i < n; i++) b[i] = Math.floor(random() * 256)
    return b
  }

  function newId (random: () => number): string {
    let id: string
    do {
      id = 'wal_'
      for (let i = 0; i < 16; i++) id += ID_ALPHABET[Math.floor(random() * ID_ALPHABET.length)]
    } while (ids.has(id))
    ids.add(id)
    return id
  }

  function make (t: TenantWallets, name: string, type: WalletType, chain: Chain, createdAtMs: number, random = t.random): Wallet {
    // Exactly the fields of contract 3.1, in order; the cached JSON is built from this object alone.
    const w: Wallet = { id: newId(random), name, type, chain, address: addressFor(chain, bytes(random, 32)), createdAt: new Date(createdAtMs).toISOString() }
    t.list.push(w)
    t.json.push(JSON.stringify(w))
    return w
  }

  function mac (tenantId: string, before: number): string {
    // Keyed SHA-256 (secret prefix); one-shot hash() avoids createHmac's per-call KeyObject.
    return hash('sha256', `${cursorKey}:${tenantId}:${before}`, 'base64url').slice(0, 22)
  }

  return {
    /** Create the tenant's seeded fixtures: the same seed and slug give the same wallets (3.5). */
    addTenant (tenantId: string, slug: string): void {
      const t: TenantWallets = { list: [], json: [], random: deriveRandom(seed, 'wallets:' + slug) }
      byTenant.set(tenantId, t)
      for (let i = 0; i < fixturesPerTenant; i++) {
        const chain = CHAINS[i % CHAINS.length]!
        const type = WALLET_TYPES[(i >> 1) % WALLET_TYPES.length]!
        make(t, `${NAMES[i % NAMES.length]} ${i + 1}`, type, chain, FIXTURE_EPOCH_MS + i * 3_600_000)
      }
    },

    create (tenantId: string, input: { name: string, type: WalletType, chain: Chain }): Wallet {
      const t = byTenant.get(tenantId)
      if (t === undefined) throw new TypeError('unknown tenant')
      return make(t, input.name, input.type, input.chain, now(), createRandom)
    },

    /**
     * A new wallet as create() makes it, not yet listed: instances that share state (domain/shared/)
     * list it when the change feed hands it back, so every instance lists wallets in one order.
     */
    build (tenantId: string, input: { name: string, type: WalletType, chain: Chain }): Wallet {
      if (!byTenant.has(tenantId)) throw new TypeError('unknown tenant')
      const random = createRandom ?? byTenant.get(tenantId)!.random
      let id: string
      do {
        id = 'wal_'
        for (let i = 0; i < 16; i++) id += ID_ALPHABET[Math.floor(random() * ID_ALPHABET.length)]
      } while (ids.has(id))
      return { id, name: input.name, type: input.type, chain: input.chain, address: addressFor(input.chain, bytes(random, 32)), createdAt: new Date(now()).toISOString() }
    },

    /** Take a wallet made by another instance (domain/shared/), as it is; false when it is known already. */
    adopt (tenantId: string, w: Wallet): boolean {
      const t = byTenant.get(tenantId)
      if (t === undefined || ids.has(w.id)) return false
      const own: Wallet = { id: w.id, name: w.name, type: w.type, chain: w.chain, address: w.address, createdAt: w.createdAt }
      ids.add(own.id)
      t.list.push(own)
      t.json.push(JSON.stringify(own))
      return true
    },

    /**
     * A wallet whose JSON the caller writes itself (the hostile drill: fields a real upstream could
     * carry but contract 3.1 never promises). Listed newest first like any other; `wallet` is what
     * the store filters by, `json` is what clients get.
     */
    addRaw (tenantId: string, wallet: Wallet, json: string): void {
      const t = byTenant.get(tenantId)
      if (t === undefined) throw new TypeError('unknown tenant')
      ids.add(wallet.id)
      t.list.push(wallet)
      t.json.push(json)
    },

    count (tenantId: string): number {
      return byTenant.get(tenantId)?.list.length ?? 0
    },

    /**
     * Newest first. `before` is a sequence: only wallets older than it are listed, so wallets created
     * while a client walks the pages never shift what it has not seen yet (3.2).
     */
    list (tenantId: string, { limit, before, chain }: { limit: number, before: number | undefined, chain: Chain | undefined }): ListResult {
      const t = byTenant.get(tenantId)
      if (t === undefined) return { items: [], json: '[]', nextBefore: undefined }
      const items: Wallet[] = []
      let json = '['
      let i = Math.min(before ?? t.list.length + 1, t.list.length + 1) - 2
      for (; i >= 0 && items.length < limit; i--) {
        const w = t.list[i]!
        if (chain === undefined || w.chain === chain) {
          json += items.length === 0 ? t.json[i]! : ',' + t.json[i]!
          items.push(w)
        }
      }
      json += ']'
      // i is now the position of the next candidate; skip forward past non-matching to learn if more remain.
      let more = false
      for (let j = i; j >= 0; j--) {
        if (chain === undefined || t.list[j]!.chain === chain) { more = true; break }
      }
      return { items, json, nextBefore: more ? i + 2 : undefined }
    },

    /** base64url JSON with a MAC over tenant and position: opaque, and useless to another tenant (3.2). */
    encodeCursor (tenantId: string, before: number): string {
      return Buffer.from(JSON.stringify({ b: before, m: mac(tenantId, before) })).toString('base64url')
    },

    /** The sequence a cursor carries, or undefined when it was not issued by us to this tenant. */
    decodeCursor (tenantId: string, cursor: string): number | undefined {
      if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined
      let parsed: unknown
      try {
        parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
      } catch {
        return undefined
      }
      if (typeof parsed !== 'object' || parsed === null) return undefined
      const { b, m } = parsed as { b?: unknown, m?: unknown }
      if (typeof b !== 'number' || !Number.isInteger(b) || b < 1 || typeof m !== 'string') return undefined
      const expected = Buffer.from(mac(tenantId, b))
      const given = Buffer.from(m)
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
      return b
    },

    clear (): void {
      byTenant.clear()
      ids.clear()
    }
  }
}

export type WalletStore = ReturnType<typeof createWalletStore>
