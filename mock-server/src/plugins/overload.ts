// Overload shedding (contract 1.6: service_unavailable "injected fault or overload shedding"). The
// measuring is @fastify/under-pressure's (event-loop delay and utilisation, heap, RSS, sampled off the
// request path); the decision is a step of the request pipeline, first after the request context, so a
// shed request costs no authentication, no limiter count and no idempotency entry, and is answered in
// the envelope with Retry-After and recorded like any other refusal (code service_unavailable, so a
// record-derived metric counts it). The control API and the health routes are never shed: the harness
// must be able to see and steer an overloaded mock.
import { getHeapStatistics } from 'node:v8'
import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import type { MockConfig } from '../config.ts'
import { ApiError } from '../errors.ts'

export default fp(async function overload (app, opts: { config: MockConfig['overload'] }) {
  const cfg = opts.config
  if (!cfg.enabled) return
  const maxHeapUsedBytes = cfg.maxHeapUsedBytes > 0 ? cfg.maxHeapUsedBytes : Math.floor(getHeapStatistics().heap_size_limit * 0.9)
  let isUnderPressure: () => boolean = () => false
  // Registered in a context of its own: its decorators and its own onRequest hook stay there (no route
  // lives in it), and only the measurement is used here.
  await app.register(async function measure (child) {
    await child.register(underPressure, {
      maxEventLoopDelay: cfg.maxEventLoopDelayMs,
      maxHeapUsedBytes,
      maxRssBytes: cfg.maxRssBytes,
      maxEventLoopUtilization: cfg.maxEventLoopUtilization,
      sampleInterval: cfg.sampleIntervalMs
    })
    isUnderPressure = () => child.isUnderPressure()
  })
  const retryAfter = String(cfg.retryAfterS)
  const shed = new ApiError('service_unavailable', 'The mock is overloaded and sheds load; retry after Retry-After seconds.',
    [{ field: 'server', message: 'overloaded' }], { 'retry-after': retryAfter })
  let shedding = false

  app.addRequestStep(function overloadStep (request) {
    const c = request.state.config
    if (c.control === true || c.public === true) return undefined
    const over = isUnderPressure()
    if (over !== shedding) {
      shedding = over
      app.log.warn({ overload: over ? 'start' : 'end' }, over ? 'overloaded: shedding requests with 503' : 'load back under the limits: no longer shedding')
    }
    return over ? shed : undefined
  })
}, { name: 'mock-overload', dependencies: ['mock-request-context'] })
