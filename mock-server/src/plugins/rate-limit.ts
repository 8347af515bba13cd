// Rate limits of contract 5: every authenticated request counts against its key (and its tenant's
// quota when the tenant has one); the X-RateLimit-* headers go on every authenticated response,
// errors included; over the limit the answer is 429 rate_limited with an honest Retry-After (5.3).
// A forced burst (fault rate-limit-burst, 7.2) answers through the same path and headers, and an
// over-admit fault makes the limiter admit more than the headers claim. The concurrent-stream cap of
// 5.5 lives here too, as app.streamSlots, for the event-stream route.
//
// Configure once, run cheap (house style principle 2): policies are compiled per route when the route
// is registered; with the memory store the hook is synchronous and allocates no promise or closure.
import fp from 'fastify-plugin'
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'
import type { MockConfig } from '../config.ts'
import { ApiError, MESSAGES } from '../errors.ts'
import { ALGORITHMS, LimiterUnavailableError, isLimiterStore, type LimitDecision, type LimitPolicy, type LimiterStore } from '../domain/limiter/types.ts'
import { createLimiterStore } from '../domain/limiter/index.ts'
import { createStreamSlots, type StreamSlots } from '../domain/limiter/stream-slots.ts'
import { ietfLimitHeader, ietfPolicyHeader, resetSeconds } from '../domain/limiter/headers.ts'
import { redacted } from '../domain/limiter/stores/redis.ts'

/** One route's limiter, compiled at registration. */
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
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Concurrent event streams per key (contract 5.5), in this process's memory. */
    streamSlots: StreamSlots
    /** The store behind the limiter (memory or Redis). */
    limiterStore: LimiterStore
  }
  interface FastifyContextConfig {
    /** Written by mock-rate-limit when the route is registered: its compiled limiter, per method. */
    mockRateLimit?: Record<string, RouteLimiter>
  }
}

export interface RateLimitOptions {
  config: MockConfig
  /** A store to use instead of the one config.rateLimit.store names (shared between apps in tests). */
  store?: unknown
}

const STORE_RETRY_AFTER_S = 1
const MAX_CACHED_REFUSALS = 4096

function checkPolicy (where: string, p: Partial<LimitPolicy>): void {
  if (p.limit !== undefined && !(Number.isInteger(p.limit) && p.limit >= 1)) throw new TypeError(`${where}: rateLimit.limit must be an integer >= 1`)
  if (p.windowMs !== undefined && !(Number.isInteger(p.windowMs) && p.windowMs >= 1000)) throw new TypeError(`${where}: rateLimit.windowMs must be an integer >= 1000`)
  if (p.algorithm !== undefined && !ALGORITHMS.includes(p.algorithm)) throw new TypeError(`${where}: rateLimit.algorithm must be one of ${ALGORITHMS.join(', ')}`)
}

export default fp(async function mockRateLimit (app: FastifyInstance, opts: RateLimitOptions) {
  const rl = opts.config.rateLimit
  app.decorate('streamSlots', createStreamSlots({ max: rl.maxStreamsPerKey }))

  if (opts.store !== undefined && !isLimiterStore(opts.store)) throw new TypeError('rate-limit: deps.limiterStore is not a limiter store (see domain/limiter/types.ts LimiterStore)')
  const store: LimiterStore = opts.store ?? createLimiterStore(rl.store)
  app.decorate('limiterStore', store)
  // A store handed in belongs to the caller (it may be shared between apps); one we made is ours to close.
  if (opts.store === undefined) app.addHook('onClose', async () => { await store.close() })
  const storeName = store.kind === 'redis' ? redacted(rl.store) : 'memory'

  // -- outages: one error line when one starts, one info line when it ends (issue 3 item 6).
  let outageSinceMs: number | undefined
  function outageStarts (err: unknown): void {
    if (outageSinceMs !== undefined) return
    outageSinceMs = app.mock.now()
    app.log.error({ err, store: storeName }, 'rate-limit store unreachable: answering 503 service_unavailable until it is back')
  }
  function outageEnds (): void {
    if (outageSinceMs === undefined) return
    app.log.info({ store: storeName, outageMs: app.mock.now() - outageSinceMs }, 'rate-limit store reachable again')
    outageSinceMs = undefined
  }
  if (store.kind === 'redis') {
    const s = store as LimiterStore & { ready?: (ms?: number) => Promise<boolean> }
    if (s.ready !== undefined && !(await s.ready())) outageStarts(new Error(`could not connect to ${storeName}`))
  }

  app.mock.onReset(() => {
    try {
      const r = store.reset()
      if (r instanceof Promise) r.catch((err: unknown) => { app.log.error({ err, store: storeName }, 'rate-limit store reset failed') })
    } catch (err) {
      app.log.error({ err, store: storeName }, 'rate-limit store reset failed')
    }
  })

  if (!rl.enabled) return

  // -- policies, compiled once per route (and once per distinct key limit / tenant quota).
  const defaults: LimitPolicy = { algorithm: rl.algorithm, limit: rl.limit, windowMs: rl.windowMs }
  for (const [id, p] of Object.entries(rl.routes)) checkPolicy(`config.rateLimit.routes["${id}"]`, p)

  function compile (method: string, url: string, config: FastifyContextConfig | undefined): RouteLimiter {
    const m = method === 'HEAD' ? 'GET' : method
    const id = `${m} ${url}`
    const own = config?.rateLimit
    const fromConfig = rl.routes[id]
    const exempt = own === false || config?.public === true
    if (own !== undefined && own !== false) checkPolicy(`route ${id}`, own)
    const mine = own === false ? undefined : own
    const special = fromConfig !== undefined || mine !== undefined
    // The route's own options win over config.rateLimit.routes, which wins over the defaults.
    const policy: LimitPolicy = {
      algorithm: mine?.algorithm ?? fromConfig?.algorithm ?? defaults.algorithm,
      limit: mine?.limit ?? fromConfig?.limit ?? defaults.limit,
      windowMs: mine?.windowMs ?? fromConfig?.windowMs ?? defaults.windowMs
    }
    return { id, url, exempt, bucketSuffix: special ? `|${id}` : '', policy, byLimit: new Map([[policy.limit, policy]]) }
  }

  app.addHook('onRoute', function (route: RouteOptions) {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const compiled: Record<string, RouteLimiter> = {}
    for (const method of methods) compiled[method] = compile(method, route.url, route.config)
    route.config = { ...route.config, mockRateLimit: compiled }
  })

  // Routes registered before this plugin (and the 404 handler) compile on first use.
  const late = new WeakMap<object, RouteLimiter>()
  function routeLimiter (request: FastifyRequest): RouteLimiter {
    const cfg = request.state.config
    const own = cfg.mockRateLimit?.[request.method]
    if (own !== undefined) return own
    let r = late.get(cfg)
    if (r === undefined) {
      r = compile(request.method, request.state.route ?? request.url.split('?')[0]!, cfg)
      late.set(cfg, r)
    }
    return r
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

  const tenantPolicies = new Map<number, LimitPolicy>()
  function tenantPolicy (quota: number): LimitPolicy {
    let p = tenantPolicies.get(quota)
    if (p === undefined) {
      p = { algorithm: rl.algorithm, limit: quota, windowMs: rl.windowMs }
      tenantPolicies.set(quota, p)
    }
    return p
  }

  // -- refusals: the 429 carries per-request data only through Retry-After, so build one per value.
  const refusals = new Map<number, ApiError>()
  function refusal (retryAfterS: number): ApiError {
    let e = refusals.get(retryAfterS)
    if (e === undefined) {
      const s = String(retryAfterS)
      e = new ApiError('rate_limited', MESSAGES.rate_limited, [{ field: 'retryAfter', message: s }], { 'retry-after': s })
      if (refusals.size < MAX_CACHED_REFUSALS) refusals.set(retryAfterS, e)
    }
    return e
  }
  const unavailable = new ApiError('service_unavailable', 'The rate-limit store is unreachable, so no request can be counted; retry after Retry-After seconds.',
    [{ field: 'retryAfter', message: String(STORE_RETRY_AFTER_S) }], { 'retry-after': String(STORE_RETRY_AFTER_S) })

  const ietf = rl.ietfHeaders
  function apply (request: FastifyRequest, reply: FastifyReply, d: LimitDecision, nowMs: number): ApiError | undefined {
    request.state.rateLimit = d
    reply.header('x-ratelimit-limit', String(d.limit))
    reply.header('x-ratelimit-remaining', String(d.remaining))
    reply.header('x-ratelimit-reset', String(resetSeconds(d)))
    if (ietf) {
      reply.header('ratelimit-policy', ietfPolicyHeader(d))
      reply.header('ratelimit', ietfLimitHeader(d, nowMs))
    }
    return d.allowed ? undefined : refusal(d.retryAfterS)
  }

  /** A forced 429 (fault rate-limit-burst, 7.2): a refusal like any other, but nothing is consumed. */
  function burstDecision (policy: LimitPolicy, nowMs: number, retryAfterS: number): LimitDecision {
    return {
      allowed: false,
      limit: policy.limit,
      remaining: 0,
      resetAtMs: nowMs + retryAfterS * 1000,
      retryAfterS,
      scope: 'key',
      algorithm: policy.algorithm,
      windowMs: policy.windowMs,
      source: 'burst-fault',
      overAdmitShare: 0,
      other: undefined
    }
  }

  function storeDown (request: FastifyRequest, policy: LimitPolicy, nowMs: number, err: unknown): ApiError {
    outageStarts(err)
    request.state.rateLimit = {
      allowed: false,
      limit: policy.limit,
      remaining: 0,
      resetAtMs: nowMs + STORE_RETRY_AFTER_S * 1000,
      retryAfterS: STORE_RETRY_AFTER_S,
      scope: 'key',
      algorithm: policy.algorithm,
      windowMs: policy.windowMs,
      source: 'store-unavailable',
      overAdmitShare: 0,
      other: undefined
    }
    return unavailable
  }

  /**
   * Everything before the store call. Returns the decision to apply without the store (a burst fault),
   * or undefined when the request is not limited at all; otherwise fills `call`.
   */
  interface Call { nowMs: number, policy: LimitPolicy, keyBucket: string, tenantBucket: string | undefined, tenantPolicy: LimitPolicy | undefined, share: number }
  function prepare (request: FastifyRequest, call: Call): LimitDecision | 'skip' | 'store' {
    const auth = request.state.auth
    if (auth === undefined) return 'skip'
    const route = routeLimiter(request)
    const burst = request.state.faults?.burst
    if (route.exempt && burst === undefined) return 'skip'
    const mock = app.mock
    const nowMs = mock.now()
    const policy = keyPolicy(route, auth.rateLimit)
    call.nowMs = nowMs
    if (burst !== undefined) return burstDecision(policy, nowMs, burst.retryAfterS)
    const plan = mock.faults
    const share = plan.empty
      ? 0
      : plan.overAdmitShare({ tenantId: auth.tenantId, tenantSlug: auth.tenantSlug, keyId: auth.keyId, method: request.method, route: route.url })
    const quota = mock.keys.tenant(auth.tenantId)?.quota
    call.policy = policy
    call.keyBucket = 'k:' + auth.keyId + route.bucketSuffix
    call.tenantBucket = quota === undefined ? undefined : 't:' + auth.tenantId
    call.tenantPolicy = quota === undefined ? undefined : tenantPolicy(quota)
    call.share = share
    return 'store'
  }

  if (store.kind === 'memory') {
    // Synchronous all the way: one scratch Call serves every request, since nothing awaits in between.
    const call: Call = { nowMs: 0, policy: defaults, keyBucket: '', tenantBucket: undefined, tenantPolicy: undefined, share: 0 }
    app.addHook('onRequest', function limitSync (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
      const p = prepare(request, call)
      if (p === 'skip') { done(); return }
      if (p !== 'store') { done(apply(request, reply, p, call.nowMs)); return }
      const d = store.consume(call.nowMs, call.keyBucket, call.policy, call.tenantBucket, call.tenantPolicy, call.share) as LimitDecision
      done(apply(request, reply, d, call.nowMs))
    })
  } else {
    app.addHook('onRequest', async function limitAsync (request: FastifyRequest, reply: FastifyReply) {
      const call: Call = { nowMs: 0, policy: defaults, keyBucket: '', tenantBucket: undefined, tenantPolicy: undefined, share: 0 }
      const p = prepare(request, call)
      if (p === 'skip') return
      if (p !== 'store') throw apply(request, reply, p, call.nowMs)
      let d: LimitDecision
      try {
        d = await store.consume(call.nowMs, call.keyBucket, call.policy, call.tenantBucket, call.tenantPolicy, call.share)
      } catch (err) {
        if (err instanceof LimiterUnavailableError) throw storeDown(request, call.policy, call.nowMs, err)
        throw err
      }
      outageEnds()
      const e = apply(request, reply, d, call.nowMs)
      if (e !== undefined) throw e
    })
  }
}, { name: 'mock-rate-limit', dependencies: ['mock-auth'] })
