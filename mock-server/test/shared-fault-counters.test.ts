// Stream faults decided over Redis (instances sharing state) must reach a client exactly as the
// in-process plan does (contract 7.2): sse-duplicate and sse-gap count resumes only and never act on
// the same resume, and a refused connection spends no other fault. Same plan, same sequence of
// connections -> the same decisions, on a real redis-server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { createFaultPlan, type FaultPlanInput, type FaultTarget, type SseFaultDecision } from '../src/domain/fault-plan.ts'
import { createSharedFaultCounters } from '../src/domain/shared/fault-counters.ts'
import { redisSkipReason, startRedisServer, type RedisServer } from './helpers/redis.ts'

const skip = redisSkipReason()

const summary = (d: SseFaultDecision | undefined) => d === undefined
  ? 'none'
  : [d.reject === undefined ? '' : `reject ${d.reject.status}`, d.duplicate > 0 ? `dup ${d.duplicate}` : '', d.gap === undefined ? '' : 'gap', d.drop === undefined ? '' : 'drop', d.stall === undefined ? '' : 'stall', d.retryMs === undefined ? '' : `retry ${d.retryMs}`].filter(Boolean).join(',') || 'none'

describe.skipIf(skip !== undefined)('stream faults on shared counters', () => {
  let server: RedisServer
  let redis: Redis
  beforeAll(async () => {
    server = await startRedisServer()
    redis = new Redis(server.url, { lazyConnect: false })
  })
  afterAll(async () => {
    redis?.disconnect()
    await server?.stop()
  })

  it('decide every connection and resume as the in-process plan does', async () => {
    const input: FaultPlanInput = {
      seed: 7,
      faults: [
        { id: 'drop', type: 'sse-drop', afterEvents: 3, times: 2 },
        { id: 'dup', type: 'sse-duplicate', count: 2, after: 1, times: 2 },
        { id: 'gap', type: 'sse-gap', times: 2 },
        { id: 'reject', type: 'sse-reject', status: 503, retryAfterS: 1, after: 4, times: 2 },
        { id: 'retry', type: 'sse-retry', retryMs: 2000, after: 6, times: 1 }
      ]
    }
    const local = createFaultPlan(input, 1)
    const sharedPlan = createFaultPlan(input, 1)
    const counters = createSharedFaultCounters({ redis, prefix: `t${Date.now()}:` })
    counters.setVersion('v1')
    const target = (resume: boolean): FaultTarget => ({ tenantId: 'ten_1', tenantSlug: 'acme', keyId: 'key_1', method: 'GET', route: '/api/events/stream', resume })
    // A first connection, then resumes, with a fresh connection now and then.
    const sequence = [false, true, true, true, false, true, true, true, true, false, true, true, true]
    const want: string[] = []
    const got: string[] = []
    for (const resume of sequence) {
      want.push(summary(local.sse(target(resume))))
      got.push(summary(await counters.sse(sharedPlan, target(resume))))
    }
    expect(got).toEqual(want)
    // The sequence really met each rule: a refusal, a duplicate and a gap each happened.
    expect(want.some((w) => w.includes('reject'))).toBe(true)
    expect(want.some((w) => w.includes('dup'))).toBe(true)
    expect(want.some((w) => w.includes('gap'))).toBe(true)
    expect(want.some((w) => w.includes('dup') && w.includes('gap'))).toBe(false)
  })
})
