// The shared limiter store (config.rateLimit.store = 'redis://host:port'): one atomic Lua script per
// request, so any number of mock instances on one Redis admit exactly the limit between them
// (contract 5.4). Short timeouts and no offline queue: when Redis is gone a call fails within
// commandTimeoutMs and the plugin answers 503, instead of admitting everything or hanging.
import { Redis } from 'ioredis'
import { ALGORITHM_CODE, bindDecisions, effectiveLimit, toDecision, TOKEN, type RawReport } from '../algorithms.ts'
import { LimiterUnavailableError, type LimitDecision, type LimitPolicy, type LimiterStore } from '../types.ts'
import { LIMIT_SCRIPT } from './redis-script.ts'

export interface RedisLimiterStoreOptions {
  /** redis:// or rediss:// URL. */
  url: string
  /** Prefix of every key this store writes; reset() deletes exactly these. */
  prefix?: string
  commandTimeoutMs?: number
  connectTimeoutMs?: number
  /** Upper bound of the reconnect backoff, so the end of an outage is noticed quickly. */
  reconnectMaxDelayMs?: number
}

type LimitCommand = (numKeys: number, ...args: Array<string | number>) => Promise<number[]>

export function createRedisLimiterStore ({ url, prefix = 'tnz:rl:', commandTimeoutMs = 500, connectTimeoutMs = 1000, reconnectMaxDelayMs = 500 }: RedisLimiterStoreOptions) {
  const redis = new Redis(url, {
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(times * 50, reconnectMaxDelayMs),
    lazyConnect: false
  })
  // Connection errors surface as rejected commands (and the plugin's one log line per outage);
  // without a listener ioredis would print each reconnect failure.
  redis.on('error', () => {})
  redis.defineCommand('tnzLimit', { lua: LIMIT_SCRIPT })
  const limit = (redis as unknown as { tnzLimit: LimitCommand }).tnzLimit.bind(redis)
  let closed = false

  function keyName (bucket: string, policy: LimitPolicy, effective: number): string {
    const code = ALGORITHM_CODE[policy.algorithm]
    // The policy is part of the name: a changed window (or token-bucket limit) starts a fresh bucket,
    // as in the memory store.
    return code === TOKEN
      ? `${prefix}${code}:${policy.windowMs}:${effective}:${bucket}`
      : `${prefix}${code}:${policy.windowMs}:${bucket}`
  }

  function raw (r: number[], i: number): RawReport {
    return { remaining: r[i + 1]!, resetAtMs: r[i + 2]!, waitMs: r[i + 3]! }
  }

  async function consume (nowMs: number, keyBucket: string, keyPolicy: LimitPolicy, tenantBucket: string | undefined, tenantPolicy: LimitPolicy | undefined, overAdmitShare: number): Promise<LimitDecision> {
    const kLimit = effectiveLimit(keyPolicy.limit, overAdmitShare)
    const kCode = ALGORITHM_CODE[keyPolicy.algorithm]
    let r: number[]
    try {
      if (tenantBucket === undefined || tenantPolicy === undefined) {
        r = await limit(1, keyName(keyBucket, keyPolicy, kLimit), nowMs, kCode, kLimit, keyPolicy.windowMs)
      } else {
        const tLimit = effectiveLimit(tenantPolicy.limit, overAdmitShare)
        r = await limit(2, keyName(keyBucket, keyPolicy, kLimit), keyName(tenantBucket, tenantPolicy, tLimit),
          nowMs, kCode, kLimit, keyPolicy.windowMs, ALGORITHM_CODE[tenantPolicy.algorithm], tLimit, tenantPolicy.windowMs)
      }
    } catch (err) {
      throw new LimiterUnavailableError(`rate-limit store ${redacted(url)} did not answer: ${(err as Error).message}`, { cause: err })
    }
    const kd = toDecision(raw(r, 0), r[0] === 1, keyPolicy, kLimit, overAdmitShare, 'key')
    if (tenantBucket === undefined || tenantPolicy === undefined) return kd
    const tLimit = effectiveLimit(tenantPolicy.limit, overAdmitShare)
    return bindDecisions(kd, toDecision(raw(r, 4), r[4] === 1, tenantPolicy, tLimit, overAdmitShare, 'tenant'))
  }

  const store = {
    kind: 'redis' as const,
    consume,
    redis,

    /** Resolves true once connected, false if that takes longer than timeoutMs (the store keeps retrying). */
    async ready (timeoutMs = connectTimeoutMs): Promise<boolean> {
      if (redis.status === 'ready') return true
      return await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => { redis.off('ready', onReady); resolve(false) }, timeoutMs)
        function onReady (): void { clearTimeout(t); resolve(true) }
        redis.once('ready', onReady)
      })
    },

    /** Delete every bucket under the prefix (control API reset). */
    async reset (): Promise<void> {
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
        cursor = next
        if (keys.length > 0) await redis.unlink(...keys)
      } while (cursor !== '0')
    },

    async close (): Promise<void> {
      if (closed) return
      closed = true
      try {
        if (redis.status === 'ready') await redis.quit()
        else redis.disconnect()
      } catch {
        redis.disconnect()
      }
    }
  }
  return store satisfies LimiterStore
}

/** The URL without its password, for messages and logs. */
export function redacted (url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return 'redis://?'
  }
}

export type RedisLimiterStore = ReturnType<typeof createRedisLimiterStore>
