// Rate limits of contract 5: every authenticated request counts against its key (and its tenant's
// quota when the tenant has one); the X-RateLimit-* headers go on every authenticated response,
// errors included; over the limit the answer is 429 rate_limited with an honest Retry-After (5.3).
// A forced burst (fault rate-limit-burst, 7.2) answers through the same path and headers, and an
// over-admit fault makes the limiter admit more than the headers claim. The concurrent-stream cap of
// 5.5 lives here too, as app.streamSlots, for the event-stream route.
//
// The limiter itself is pipeline/rate-limit.ts `createRateLimit`, shared with the msw handlers; this file
// wires it into Fastify. Configure once, run cheap (house style principle 2): policies are compiled
// per route when the route is registered; with the memory store the step is synchronous and
// allocates no promise or closure.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import type { MockConfig } from '../config.ts'
import { isLimiterStore, type LimitDecision, type LimiterStore } from '../domain/limiter/types.ts'
import { createLimiterStore } from '../domain/limiter/index.ts'
import { createStreamSlots, type StreamSlots } from '../domain/limiter/stream-slots.ts'
import { redacted } from '../domain/limiter/stores/redis.ts'
import { createRateLimit, type RouteLimiter } from '../pipeline/index.ts'

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

export default fp(async function mockRateLimit (app: FastifyInstance, opts: RateLimitOptions) {
  const rl = opts.config.rateLimit
  app.decorate('streamSlots', createStreamSlots({ max: rl.maxStreamsPerKey }))

  if (opts.store !== undefined && !isLimiterStore(opts.store)) throw new TypeError('rate-limit: deps.limiterStore is not a limiter store (see domain/limiter/types.ts LimiterStore)')
  const store: LimiterStore = opts.store ?? createLimiterStore(rl.store)
  app.decorate('limiterStore', store)
  // A store handed in belongs to the caller (it may be shared between apps); one we made is ours to close.
  if (opts.store === undefined) app.addHook('onClose', async () => { await store.close() })
  const storeName = store.kind === 'redis' ? redacted(rl.store) : 'memory'

  // -- outages: one error line when one starts, one info line when it ends, not one per refused request.
  let outageSinceMs: number | undefined
  const limiter = createRateLimit({
    config: rl,
    store,
    context: () => app.mock,
    onOutage (err) {
      outageSinceMs = app.mock.now()
      app.log.error({ err, store: storeName }, 'rate-limit store unreachable: answering 503 service_unavailable until it is back')
    },
    onRecovered () {
      app.log.info({ store: storeName, outageMs: app.mock.now() - (outageSinceMs ?? app.mock.now()) }, 'rate-limit store reachable again')
      outageSinceMs = undefined
    }
  })
  if (store.kind === 'redis') {
    const s = store as LimiterStore & { ready?: (ms?: number) => Promise<boolean> }
    if (s.ready !== undefined && !(await s.ready())) limiter.outage(new Error(`could not connect to ${storeName}`))
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

  app.addHook('onRoute', function (route: RouteOptions) {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const compiled: Record<string, RouteLimiter> = {}
    for (const method of methods) compiled[method] = limiter.compile(method, route.url, route.config)
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
      r = limiter.compile(request.method, request.state.route ?? request.url.split('?')[0]!, cfg)
      late.set(cfg, r)
    }
    return r
  }

  function apply (request: FastifyRequest, reply: FastifyReply, d: LimitDecision, nowMs: number) {
    request.state.rateLimit = d
    limiter.writeHeaders(d, nowMs, reply)
    return limiter.errorFor(d)
  }

  app.addRequestStep(function rateLimitStep (request, reply) {
    const s = request.state
    if (s.auth === undefined) return undefined
    const nowMs = app.mock.now()
    const d = limiter.check(nowMs, s.auth, request.method, routeLimiter(request), s.faults?.burst)
    if (d === undefined) return undefined
    if (d instanceof Promise) return d.then((decided) => apply(request, reply, decided, nowMs))
    return apply(request, reply, d, nowMs)
  })
}, { name: 'mock-rate-limit', dependencies: ['mock-auth'] })
