// Idempotency records in Redis (contract 6.1) for instances that share state: the first POST with a
// key claims it with one atomic script, so a duplicate on any instance is refused with 409 while the
// first runs and replayed once it has answered; another body is 422. The rules are those of
// domain/idempotency-store.ts; only where the entries live differs.
import type { Redis } from 'ioredis'
import type { BeginResult, StoredResponse } from '../idempotency-store.ts'

// KEYS[1] the entry; ARGV[1] the body hash, ARGV[2] the TTL in ms. Returns nil when claimed now, else
// the entry: {"h":hash} while the first runs, {"h":hash,"r":response} once it answered.
const BEGIN = `
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], cjson.encode({h = ARGV[1]}), 'PX', ARGV[2])
return false
`
// Forget an entry whose first request must not be replayed, unless it has an answer already.
const ABANDON = `
local v = redis.call('GET', KEYS[1])
if v and not string.find(v, '"r":', 1, true) then redis.call('DEL', KEYS[1]) end
return 0
`

type Script = (numKeys: number, ...args: Array<string | number>) => Promise<string | null>

export function createSharedIdempotencyStore ({ redis, prefix, ttlMs }: { redis: Redis, prefix: string, ttlMs: number }) {
  redis.defineCommand('tnzIdemBegin', { lua: BEGIN })
  redis.defineCommand('tnzIdemAbandon', { lua: ABANDON })
  const r = redis as unknown as { tnzIdemBegin: Script, tnzIdemAbandon: Script }
  const keyOf = (tenantId: string, key: string) => `${prefix}idem:${tenantId}:${key}`

  return {
    async begin (tenantId: string, key: string, hash: string): Promise<BeginResult> {
      const v = await r.tnzIdemBegin(1, keyOf(tenantId, key), hash, ttlMs)
      if (v === null) return { kind: 'new' }
      const e = JSON.parse(v) as { h: string, r?: StoredResponse }
      if (e.h !== hash) return { kind: 'mismatch' }
      if (e.r === undefined) return { kind: 'in_progress' }
      return { kind: 'replay', response: e.r }
    },

    async complete (tenantId: string, key: string, hash: string, response: StoredResponse): Promise<void> {
      await redis.set(keyOf(tenantId, key), JSON.stringify({ h: hash, r: response }), 'KEEPTTL')
    },

    async abandon (tenantId: string, key: string): Promise<void> {
      await r.tnzIdemAbandon(1, keyOf(tenantId, key))
    },

    /** Drop every entry (reset, contract 7.4). */
    async clear (): Promise<void> {
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}idem:*`, 'COUNT', 1000)
        cursor = next
        if (keys.length > 0) await redis.del(...keys)
      } while (cursor !== '0')
    }
  }
}

export type SharedIdempotencyStore = ReturnType<typeof createSharedIdempotencyStore>
