// Tenants and API keys (contract 2). Secrets are never stored: only an HMAC-SHA256 of the full key,
// compared in constant time. Several live keys per tenant allow rotation (2.5).
import { hash, randomBytes, randomUUID } from 'node:crypto'
import type { ErrorCode } from '../errors.ts'
import { hash32, deriveRandom } from './random.ts'
import { rememberSecret } from './secret-windows.ts'

export const KEY_RE = /^tnz_([a-z0-9]{1,32})_([A-Za-z0-9_-]{43})$/
export const SLUG_RE = /^[a-z0-9]{1,32}$/
export const SCOPES = ['wallet:read', 'wallet:write', 'events:read', 'admin:*'] as const
export const DEFAULT_SCOPES = ['wallet:read', 'wallet:write', 'events:read'] as const
/** The networks of X-Network (contract 1.2); a request without the header is on `devnet`. */
export const NETWORKS = ['devnet', 'testnet', 'mainnet'] as const
export type Network = typeof NETWORKS[number]
export const DEFAULT_NETWORK: Network = 'devnet'
const SCOPE_RE = /^(wallet|events|admin):(read|write|\*)$/
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

export interface Tenant {
  id: string
  slug: string
  /** Requests per window shared by every key of the tenant; undefined means no tenant quota. */
  quota: number | undefined
}

export interface KeyRecord {
  id: string
  tenantId: string
  name: string
  scopes: string[]
  rateLimit: number | undefined
  expiresAtMs: number | undefined
  /** The one network the key works on (separate keys per environment); undefined: every network. */
  network: Network | undefined
  createdAtMs: number
  lastUsedAtMs: number | undefined
  revokedAtMs: number | undefined
  /** First 12 chars of the full key (contract 2.6). */
  prefix: string
  /** base64 SHA-256 of pepper + key. */
  hash: string
}

export type VerifyResult =
  | { ok: true, key: KeyRecord, tenant: Tenant }
  | { ok: false, code: ErrorCode, keyRef: string | undefined, tenantId?: string | undefined }

export interface CreateKeyInput {
  name?: string
  scopes?: readonly string[]
  rateLimit?: number
  expiresAtMs?: number
  network?: Network | undefined
}

/**
 * The last key one connection presented and its digest (held on the connection, gone with it): a
 * keep-alive client sends the same key on every request, and hashing it each time cost the untraced
 * mock ~10 % of its requests per second (paired runs). Holds only a key this connection itself sent.
 */
export interface DigestMemo {
  key: string | undefined
  hash: string
  /** The store that made the digest (each store has its own pepper): another store hashes again. */
  store: unknown
}

/**
 * Constant-time equality of two digests of equal length: no early exit, one pass over every char.
 * On base64 strings rather than Buffers: crypto.timingSafeEqual needs two Buffer conversions, which
 * cost more than the rest of authentication on the hot path.
 */
export function sameDigest (a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/** Public view of a key: never the hash, never the secret. */
export function describeKey (k: KeyRecord) {
  return {
    id: k.id,
    tenantId: k.tenantId,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    rateLimit: k.rateLimit ?? null,
    expiresAt: k.expiresAtMs === undefined ? null : new Date(k.expiresAtMs).toISOString(),
    createdAt: new Date(k.createdAtMs).toISOString(),
    lastUsedAt: k.lastUsedAtMs === undefined ? null : new Date(k.lastUsedAtMs).toISOString(),
    revokedAt: k.revokedAtMs === undefined ? null : new Date(k.revokedAtMs).toISOString()
  }
}

export function isValidScope (s: unknown): s is string {
  return typeof s === 'string' && SCOPE_RE.test(s) && !(s === 'admin:read' || s === 'admin:write')
}

/** Does `granted` include `needed`? `<service>:*` grants all of a service; `admin:*` grants everything (2.4). */
export function hasScope (granted: readonly string[], needed: string): boolean {
  const service = needed.slice(0, needed.indexOf(':'))
  for (const g of granted) {
    if (g === needed || g === 'admin:*' || g === service + ':*') return true
  }
  return false
}

/** A UUID (v4 layout) derived from the seed and a name, so seeded tenants have stable ids (3.5). */
export function seededUuid (seed: number, name: string): string {
  const r = deriveRandom(seed, 'uuid:' + name)
  const b = new Uint8Array(16)
  for (let i = 0; i < 16; i++) b[i] = Math.floor(r() * 256)
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const h = Buffer.from(b).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

export interface KeyStoreOptions {
  seed: number
  now: () => number
  /**
   * The pepper of the key hashes. Per process by default: hashes are useless outside it. Instances that
   * share keys (domain/shared/) share one, so a hash made on one verifies on another.
   */
  pepper?: string
  /**
   * Randomness of the ids of keys made through the API; seeded by default. Shared instances pass an
   * unseeded one, so ids made on two instances cannot collide. Fixture keys always take seeded ids, so
   * every instance gives a fixture the same id.
   */
  idRandom?: () => number
}

export function createKeyStore ({ seed, now, pepper = randomBytes(32).toString('base64url'), idRandom: ids }: KeyStoreOptions) {
  // A one-shot SHA-256 over pepper + key: createHmac builds a KeyObject per call and cost 25 % of a request.
  const tenantsById = new Map<string, Tenant>()
  const tenantsBySlug = new Map<string, Tenant>()
  const keysById = new Map<string, KeyRecord>()
  const keysByHash = new Map<string, KeyRecord>()
  const revokeListeners = new Set<(key: KeyRecord) => void>()
  const idRandom = deriveRandom(seed, 'key-ids')
  const createdIdRandom = ids ?? idRandom

  function digest (fullKey: string): string {
    return hash('sha256', pepper + fullKey, 'base64')
  }

  function newKeyId (random: () => number): string {
    let id: string
    do {
      id = 'key_'
      for (let i = 0; i < 16; i++) id += ID_ALPHABET[Math.floor(random() * ID_ALPHABET.length)]
    } while (keysById.has(id))
    return id
  }

  function register (tenant: Tenant, fullKey: string, input: CreateKeyInput, random: () => number): KeyRecord {
    const hash = digest(fullKey)
    // Fingerprints of its 12-char runs, so a piece of this secret is redacted wherever it turns up (1.5).
    rememberSecret(fullKey.slice(5 + tenant.slug.length))
    const record: KeyRecord = {
      id: newKeyId(random),
      tenantId: tenant.id,
      name: input.name ?? 'key',
      scopes: [...(input.scopes ?? DEFAULT_SCOPES)],
      rateLimit: input.rateLimit,
      expiresAtMs: input.expiresAtMs,
      network: input.network,
      createdAtMs: now(),
      lastUsedAtMs: undefined,
      revokedAtMs: undefined,
      prefix: fullKey.slice(0, 12),
      hash
    }
    keysById.set(record.id, record)
    keysByHash.set(hash, record)
    return record
  }

  const self = {
    addTenant ({ slug, id, quota }: { slug: string, id?: string, quota?: number }): Tenant {
      if (!SLUG_RE.test(slug)) throw new TypeError(`tenant slug ${JSON.stringify(slug)} is not 1-32 chars of [a-z0-9]`)
      if (tenantsBySlug.has(slug)) throw new TypeError(`tenant ${slug} exists`)
      const tenant: Tenant = { id: id ?? seededUuid(seed, 'tenant:' + slug), slug, quota }
      tenantsById.set(tenant.id, tenant)
      tenantsBySlug.set(slug, tenant)
      return tenant
    },

    /** A fresh slug for a tenant created without one: `t` + 8 hex chars, like the public examples. */
    freeSlug (): string {
      for (let i = 0; ; i++) {
        const slug = 't' + (hash32(`${seed}:${tenantsBySlug.size}:${i}:${randomUUID()}`) >>> 0).toString(16).padStart(8, '0')
        if (!tenantsBySlug.has(slug)) return slug
      }
    },

    /** By id (UUID) or slug (2.2). */
    tenant (idOrSlug: string): Tenant | undefined {
      return tenantsById.get(idOrSlug) ?? tenantsBySlug.get(idOrSlug)
    },

    tenants (): Tenant[] {
      return [...tenantsById.values()]
    },

    /** Create a key with a fresh 32-byte secret; the full key is returned once and never stored. */
    createKey (tenant: Tenant, input: CreateKeyInput = {}): { record: KeyRecord, key: string } {
      const key = `tnz_${tenant.slug}_${randomBytes(32).toString('base64url')}`
      return { record: register(tenant, key, input, createdIdRandom), key }
    },

    /** Register a caller-supplied full key (config fixtures). */
    importKey (tenant: Tenant, fullKey: string, input: CreateKeyInput = {}): KeyRecord {
      const m = KEY_RE.exec(fullKey)
      if (m === null || m[1] !== tenant.slug) throw new TypeError(`a fixture key for tenant ${tenant.slug} is not tnz_${tenant.slug}_<43 base64url chars>`)
      return register(tenant, fullKey, input, idRandom)
    },

    /** Check a presented key (2.1-2.3, 2.5). Constant-time on the stored hash. */
    verify (presented: string, memo?: DigestMemo): VerifyResult {
      let hash: string
      if (memo !== undefined && memo.key === presented && memo.store === self) {
        // The connection presented this very key before: it was well formed, and its digest is known.
        hash = memo.hash
      } else {
        if (!KEY_RE.test(presented)) return { ok: false, code: 'invalid_api_key', keyRef: undefined }
        hash = digest(presented)
        if (memo !== undefined) { memo.key = presented; memo.hash = hash; memo.store = self }
      }
      const record = keysByHash.get(hash)
      if (record === undefined || !sameDigest(record.hash, hash)) {
        // The tenant the key claims, when it exists: a refused attempt is logged with it (2.7).
        return { ok: false, code: 'invalid_api_key', keyRef: presented.slice(0, 12), tenantId: tenantsBySlug.get(KEY_RE.exec(presented)![1]!)?.id }
      }
      const t = now()
      if (record.revokedAtMs !== undefined && record.revokedAtMs <= t) return { ok: false, code: 'revoked_api_key', keyRef: record.id, tenantId: record.tenantId }
      if (record.expiresAtMs !== undefined && record.expiresAtMs <= t) return { ok: false, code: 'expired_api_key', keyRef: record.id, tenantId: record.tenantId }
      const tenant = tenantsById.get(record.tenantId)
      if (tenant === undefined) return { ok: false, code: 'invalid_api_key', keyRef: record.id }
      record.lastUsedAtMs = t
      return { ok: true, key: record, tenant }
    },

    /** Is the key still usable now? Open streams ask this (2.5). */
    isLive (keyId: string): boolean {
      const k = keysById.get(keyId)
      if (k === undefined) return false
      const t = now()
      return (k.revokedAtMs === undefined || k.revokedAtMs > t) && (k.expiresAtMs === undefined || k.expiresAtMs > t)
    },

    key (id: string): KeyRecord | undefined {
      return keysById.get(id)
    },

    keysOf (tenantId: string): KeyRecord[] {
      const out: KeyRecord[] = []
      for (const k of keysById.values()) if (k.tenantId === tenantId) out.push(k)
      return out
    },

    /** Take a key record made by another instance (domain/shared/), as it is; false when it is known already. */
    adopt (record: KeyRecord): boolean {
      if (keysById.has(record.id) || !tenantsById.has(record.tenantId)) return false
      const k = { ...record, scopes: [...record.scopes] }
      keysById.set(k.id, k)
      keysByHash.set(k.hash, k)
      return true
    },

    revoke (id: string): KeyRecord | undefined {
      const k = keysById.get(id)
      if (k === undefined) return undefined
      if (k.revokedAtMs === undefined) {
        k.revokedAtMs = now()
        for (const l of revokeListeners) l(k)
      }
      return k
    },

    /**
     * Revoke every live key of a tenant in one step (incident response: rotate all keys at once). The
     * keys share one revocation time, and each revocation closes that key's open streams.
     */
    revokeTenant (tenantId: string): KeyRecord[] {
      const t = now()
      const out: KeyRecord[] = []
      for (const k of keysById.values()) {
        if (k.tenantId !== tenantId || k.revokedAtMs !== undefined) continue
        k.revokedAtMs = t
        out.push(k)
      }
      for (const k of out) for (const l of revokeListeners) l(k)
      return out
    },

    /** Called when a key is revoked, so open streams can close at once (2.5). */
    onRevoke (listener: (key: KeyRecord) => void): () => void {
      revokeListeners.add(listener)
      return () => { revokeListeners.delete(listener) }
    },

    clear (): void {
      tenantsById.clear()
      tenantsBySlug.clear()
      keysById.clear()
      keysByHash.clear()
    }
  }
  return self
}

export type KeyStore = ReturnType<typeof createKeyStore>
