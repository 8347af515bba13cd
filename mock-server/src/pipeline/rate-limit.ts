// Step 4: the rate limit of contract 5 and its response headers (5.2, 5.3). Policies are compiled per
// route at registration; the per-request path reads maps and compares numbers.
import type { MockConfig } from '../config.ts'
import type { MockContext } from '../context.ts'
import { ApiError, MESSAGES } from '../errors.ts'
import type { AuthContext, RouteAccess } from '../types.ts'
import { ALGORITHMS, LimiterUnavailableError, type LimitDecision, type LimitPolicy, type LimiterStore } from '../domain/limiter/types.ts'
import { ietfLimitHeader, ietfPolicyHeader, resetSeconds } from '../domain/limiter/headers.ts'

/** One route's limiter, compiled once. */
export interface RouteLimiter {
  /** `"GET /api/wallet/list"`: the key of config.rateLimit.routes. */
  id: string
  /** The route pattern, for fault scopes. */
  url: string
  exempt: boolean
  /** Appended to the key's bucket: empty for the key's shared bucket, `|<id>` for a route with its own policy. */
  bucketSuffix: string
  /** The route's policy for keys without a limit of their own. */
  policy: LimitPolicy
  /** Policies by limit, for keys with their own (contract 2.3): built once per distinct limit. */
  byLimit: Map<number, LimitPolicy>
  /** Bucket names by key id, made once per key: the store finds a bucket by a string it has hashed before. */
  buckets: Map<string, string>
}

export interface RateLimitOptions {
  config: MockConfig['rateLimit']
  store: LimiterStore
  context: () => MockContext
  /** The store became unreachable (the answer is 503 until it is back). */
  onOutage?: (err: unknown) => void
  /** A store call succeeded after an outage. */
  onRecovered?: () => void
}

/** Where response headers go: a Fastify reply, or a plain object through `headers()`. */
export interface HeaderSink {
  header (name: string, value: string): unknown
}

const STORE_RETRY_AFTER_S = 1
const MAX_CACHED_REFUSALS = 4096
const MAX_CACHED_BUCKET_NAMES = 10_000

function checkPolicy (where: string, p: Partial<LimitPolicy>): void {
  if (p.limit !== undefined && !(Number.isInteger(p.limit) && p.limit >= 1)) throw new TypeError(`${where}: rateLimit.limit must be an integer >= 1`)
  if (p.windowMs !== undefined && !(Number.isInteger(p.windowMs) && p.windowMs >= 1000)) throw new TypeError(`${where}: rateLimit.windowMs must be an integer >= 1000`)
  if (p.algorithm !== undefined && !ALGORITHMS.includes(p.algorithm)) throw new TypeError(`${where}: rateLimit.algorithm must be one of ${ALGORITHMS.join(', ')}`)
}

/**
 * Contract 5: every authenticated request counts against its key (and its tenant's quota when the
 * tenant has one). `check` answers synchronously with the memory store and with a promise with Redis.
 * A forced burst (fault rate-limit-burst, 7.2) is a refusal through the same path that consumes nothing.
 */
export function createRateLimit (opts: RateLimitOptions) {
  const rl = opts.config
  const store = opts.store
  const defaults: LimitPolicy = { algorithm: rl.algorithm, limit: rl.limit, windowMs: rl.windowMs }
  const tenantPolicies = new Map<number, LimitPolicy>()
  const refusals = new Map<number, ApiError>()
  const unavailable = new ApiError('service_unavailable', 'The rate-limit store is unreachable, so no request can be counted; retry after Retry-After seconds.',
    [{ field: 'retryAfter', message: String(STORE_RETRY_AFTER_S) }], { 'retry-after': String(STORE_RETRY_AFTER_S) })
  let outage = false
  if (rl.enabled) for (const [id, p] of Object.entries(rl.routes)) checkPolicy(`config.rateLimit.routes["${id}"]`, p)

  function outageStarts (err: unknown): void {
    if (outage) return
    outage = true
    opts.onOutage?.(err)
  }

  function keyPolicy (route: RouteLimiter, keyLimit: number | undefined): LimitPolicy {
    if (keyLimit === undefined) return route.policy
    let p = route.byLimit.get(keyLimit)
    if (p === undefined) {
      p = { algorithm: route.policy.algorithm, limit: keyLimit, windowMs: route.policy.windowMs }
      route.byLimit.set(keyLimit, p)
    }
    return p
  }

  function tenantPolicy (quota: number): LimitPolicy {
    let p = tenantPolicies.get(quota)
    if (p === undefined) {
      p = { algorithm: rl.algorithm, limit: quota, windowMs: rl.windowMs }
      tenantPolicies.set(quota, p)
    }
    return p
  }

  function refusal (retryAfterS: number): ApiError {
    let e = refusals.get(retryAfterS)
    if (e === undefined) {
      const s = String(retryAfterS)
      e = new ApiError('rate_limited', MESSAGES.rate_limited, [{ field: 'retryAfter', message: s }], { 'retry-after': s })
      if (refusals.size < MAX_CACHED_REFUSALS) refusals.set(retryAfterS, e)
    }
    return e
  }

  function special (policy: LimitPolicy, nowMs: number, retryAfterS: number, source: 'burst-fault' | 'store-unavailable'): LimitDecision {
    return {
      allowed: false,
      limit: policy.limit,
      remaining: 0,
      resetAtMs: nowMs + retryAfterS * 1000,
      retryAfterS,
      scope: 'key',
      algorithm: policy.algorithm,
      windowMs: policy.windowMs,
      source,
      overAdmitShare: 0,
      other: undefined
    }
  }

  function recovered (d: LimitDecision): LimitDecision {
    if (outage) { outage = false; opts.onRecovered?.() }
    return d
  }

  /**
   * X-RateLimit-* (5.2), the IETF fields when configured, and Retry-After on a refusal (5.3). None
   * when the store is down: nothing was counted, so there is nothing true to say (the 503 carries Retry-After).
   */
  function writeHeaders (d: LimitDecision, nowMs: number, sink: HeaderSink): void {
    if (d.source === 'store-unavailable') return
    sink.header('x-ratelimit-limit', String(d.limit))
    sink.header('x-ratelimit-remaining', String(d.remaining))
    sink.header('x-ratelimit-reset', String(resetSeconds(d)))
    if (rl.ietfHeaders) {
      sink.header('ratelimit-policy', ietfPolicyHeader(d))
      sink.header('ratelimit', ietfLimitHeader(d, nowMs))
    }
    if (!d.allowed) sink.header('retry-after', String(d.retryAfterS))
  }

  return {
    enabled: rl.enabled,
    store,

    /** Compile a route's limiter (at registration). `access.rateLimit` may give the route its own policy or exempt it. */
    compile (method: string, url: string, access: RouteAccess | undefined): RouteLimiter {
      const m = method === 'HEAD' ? 'GET' : method
      const id = `${m} ${url}`
      const own = access?.rateLimit
      const fromConfig = rl.routes[id]
      const exempt = own === false || access?.public === true
      if (own !== undefined && own !== false) checkPolicy(`route ${id}`, own)
      const mine = own === false ? undefined : own
      // The route's own options win over config.rateLimit.routes, which wins over the defaults.
      const policy: LimitPolicy = {
        algorithm: mine?.algorithm ?? fromConfig?.algorithm ?? defaults.algorithm,
        limit: mine?.limit ?? fromConfig?.limit ?? defaults.limit,
        windowMs: mine?.windowMs ?? fromConfig?.windowMs ?? defaults.windowMs
      }
      const isSpecial = fromConfig !== undefined || mine !== undefined
      return { id, url, exempt, bucketSuffix: isSpecial ? `|${id}` : '', policy, byLimit: new Map([[policy.limit, policy]]), buckets: new Map() }
    },

    /**
     * Count one request. Undefined when the request is not limited (limits off, no key, exempt route).
     * An unreachable store gives a refusal with source 'store-unavailable' (answered 503, never admitted blindly).
     */
    check (nowMs: number, auth: AuthContext | undefined, method: string, route: RouteLimiter, burst: { retryAfterS: number } | undefined): LimitDecision | Promise<LimitDecision> | undefined {
      if (!rl.enabled || auth === undefined) return undefined
      if (route.exempt && burst === undefined) return undefined
      const policy = keyPolicy(route, auth.rateLimit)
      if (burst !== undefined) return special(policy, nowMs, burst.retryAfterS, 'burst-fault')
      const mock = opts.context()
      const plan = mock.faults
      const share = plan.empty
        ? 0
        : plan.overAdmitShare({ tenantId: auth.tenantId, tenantSlug: auth.tenantSlug, keyId: auth.keyId, method, route: route.url })
      const quota = mock.keys.tenant(auth.tenantId)?.quota
      let keyBucket = route.buckets.get(auth.keyId)
      if (keyBucket === undefined) {
        keyBucket = 'k:' + auth.keyId + route.bucketSuffix
        if (route.buckets.size >= MAX_CACHED_BUCKET_NAMES) route.buckets.clear()
        route.buckets.set(auth.keyId, keyBucket)
      }
      const r = quota === undefined
        ? store.consume(nowMs, keyBucket, policy, undefined, undefined, share)
        : store.consume(nowMs, keyBucket, policy, 't:' + auth.tenantId, tenantPolicy(quota), share)
      if (!(r instanceof Promise)) return r
      return r.then(recovered, (err: unknown) => {
        if (!(err instanceof LimiterUnavailableError)) throw err
        outageStarts(err)
        return special(policy, nowMs, STORE_RETRY_AFTER_S, 'store-unavailable')
      })
    },

    /** The refusal to answer for a decision (429 rate_limited, or 503 when the store is down), or undefined. */
    errorFor (d: LimitDecision): ApiError | undefined {
      if (d.allowed) return undefined
      return d.source === 'store-unavailable' ? unavailable : refusal(d.retryAfterS)
    },

    writeHeaders,

    /** The headers of `writeHeaders` as an object. */
    headers (d: LimitDecision, nowMs: number): Record<string, string> {
      const h: Record<string, string> = {}
      writeHeaders(d, nowMs, { header (name, value) { h[name] = value } })
      return h
    },

    /** The store is known to be unreachable without a request having failed (a Redis store that did not connect at start). */
    outage: outageStarts,

    reset (): void | Promise<void> {
      return store.reset()
    }
  }
}

export type RateLimit = ReturnType<typeof createRateLimit>

