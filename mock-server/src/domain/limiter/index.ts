// The limiter's public surface (contract 5): stores, algorithms' helpers, headers, stream slots.
import { createMemoryLimiterStore } from './stores/memory.ts'
import { createRedisLimiterStore, type RedisLimiterStoreOptions } from './stores/redis.ts'
import type { LimiterStore } from './types.ts'

export * from './types.ts'
export { createMemoryLimiterStore, type MemoryLimiterStore } from './stores/memory.ts'
export { createRedisLimiterStore, type RedisLimiterStore } from './stores/redis.ts'
export { createStreamSlots, type StreamSlots } from './stream-slots.ts'
export { rateLimitHeaders, ietfLimitHeader, ietfPolicyHeader, resetSeconds } from './headers.ts'

/** The store config.rateLimit.store names: 'memory' or a redis:// URL. */
export function createLimiterStore (spec: string, redisOptions: Omit<RedisLimiterStoreOptions, 'url'> = {}): LimiterStore {
  if (spec === 'memory') return createMemoryLimiterStore()
  if (/^rediss?:\/\//.test(spec)) return createRedisLimiterStore({ url: spec, ...redisOptions })
  throw new TypeError(`rate-limit store must be "memory" or a redis:// URL, got ${JSON.stringify(spec)}`)
}
