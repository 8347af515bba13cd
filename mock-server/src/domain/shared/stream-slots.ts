// The concurrent event-stream cap of contract 5.5 across instances that share state: a key holds at
// most `max` open streams on all of them together. Each instance keeps its count per key in one Redis
// hash field and a liveness key it refreshes; an instance that died stops counting once its liveness
// key expires, so its streams never hold slots for ever. The local cap is checked first, so a key at
// its cap on this instance is refused without a round trip.
import type { Redis } from 'ioredis'

// KEYS[1] the key's hash; ARGV[1] this instance, ARGV[2] max, ARGV[3] the liveness key prefix.
// Sums the live instances' counts (dropping dead ones); takes a slot when one is free.
const ACQUIRE = `
local sum = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i] == ARGV[1] or redis.call('EXISTS', ARGV[3] .. all[i]) == 1 then
    sum = sum + tonumber(all[i + 1])
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
if sum >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return 1
`
const RELEASE = `
local n = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if n <= 1 then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HINCRBY', KEYS[1], ARGV[1], -1) end
return 0
`

type Script = (numKeys: number, ...args: Array<string | number>) => Promise<number>

export interface LocalSlots {
  acquire (keyId: string): boolean
  release (keyId: string): void
}

export function createSharedStreamSlots ({ redis, prefix, instance, livenessMs = 15_000, onError }: { redis: Redis, prefix: string, instance: string, livenessMs?: number, onError: (err: Error) => void }) {
  redis.defineCommand('tnzSlotAcquire', { lua: ACQUIRE })
  redis.defineCommand('tnzSlotRelease', { lua: RELEASE })
  const r = redis as unknown as { tnzSlotAcquire: Script, tnzSlotRelease: Script }
  const alive = `${prefix}alive:`
  const beat = () => { redis.set(alive + instance, '1', 'PX', livenessMs).catch(onError) }
  beat()
  const timer = setInterval(beat, Math.max(1000, Math.floor(livenessMs / 3)))
  timer.unref()

  return {
    /** `local` (this instance's cap) checked first, then the shared count. */
    wrap (local: LocalSlots, max: number) {
      return {
        acquire (keyId: string): boolean | Promise<boolean> {
          if (!local.acquire(keyId)) return false
          return r.tnzSlotAcquire(1, `${prefix}slots:${keyId}`, instance, max, alive).then((ok) => {
            if (ok !== 1) local.release(keyId)
            return ok === 1
          }, (err: Error) => {
            local.release(keyId)
            throw err
          })
        },
        release (keyId: string): void {
          local.release(keyId)
          r.tnzSlotRelease(1, `${prefix}slots:${keyId}`, instance).catch(onError)
        }
      }
    },

    stop (): void {
      clearInterval(timer)
    }
  }
}
