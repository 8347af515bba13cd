// Idempotency keys (contract 6.1): the first response per (tenant, idempotency key) is kept for the
// TTL and replayed for the same body; another body is refused; a concurrent duplicate is refused while
// the first still runs. Bounded: the oldest entries go first when the store is full.
import { createHash } from 'node:crypto'

export interface StoredResponse {
  statusCode: number
  payload: string
  contentType: string
}

interface Entry {
  bodyHash: string
  expiresAtMs: number
  response: StoredResponse | undefined
}

export type BeginResult =
  | { kind: 'new' }
  | { kind: 'replay', response: StoredResponse }
  | { kind: 'in_progress' }
  | { kind: 'mismatch' }

export const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,255}$/

/** Canonical JSON (sorted keys) hash, so key order and whitespace do not make a "different body". */
export function bodyHash (body: unknown): string {
  return createHash('sha256').update(canonical(body)).digest('base64url')
}

function canonical (v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null'
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']'
  const o = v as Record<string, unknown>
  return '{' + Object.keys(o).sort().map((k) => JSON.stringify(k) + ':' + canonical(o[k])).join(',') + '}'
}

export function createIdempotencyStore ({ ttlMs, capacity, now }: { ttlMs: number, capacity: number, now: () => number }) {
  const entries = new Map<string, Entry>()

  function evict (): void {
    const t = now()
    for (const [k, e] of entries) {
      if (entries.size < capacity && e.expiresAtMs > t) break
      if (e.response !== undefined || e.expiresAtMs <= t) entries.delete(k)
      else if (entries.size >= capacity) entries.delete(k)
    }
  }

  return {
    begin (tenantId: string, key: string, hash: string): BeginResult {
      const id = tenantId + '\u0000' + key
      const e = entries.get(id)
      if (e !== undefined && e.expiresAtMs > now()) {
        if (e.bodyHash !== hash) return { kind: 'mismatch' }
        if (e.response === undefined) return { kind: 'in_progress' }
        return { kind: 'replay', response: e.response }
      }
      if (e !== undefined) entries.delete(id)
      if (entries.size >= capacity) evict()
      entries.set(id, { bodyHash: hash, expiresAtMs: now() + ttlMs, response: undefined })
      return { kind: 'new' }
    },

    complete (tenantId: string, key: string, response: StoredResponse): void {
      const e = entries.get(tenantId + '\u0000' + key)
      if (e !== undefined) e.response = response
    },

    /** The first request failed in a way that must not be replayed (5xx before any effect): forget it. */
    abandon (tenantId: string, key: string): void {
      const id = tenantId + '\u0000' + key
      const e = entries.get(id)
      if (e !== undefined && e.response === undefined) entries.delete(id)
    },

    size (): number {
      return entries.size
    },

    clear (): void {
      entries.clear()
    }
  }
}

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>
