// The event stream's domain part without a socket (contract 4.2, 5.5, 7.2): the plan a stream opens
// with, and what its faults do to each event. The stream over a real socket is events-*.test.ts.
import { describe, expect, it } from 'vitest'
import { ApiError } from '../src/errors.ts'
import { createMemoryEventLog } from '../src/domain/event-log/memory.ts'
import { createFaultPlan, validateFaultPlan, type SseFaultDecision } from '../src/domain/fault-plan.ts'
import { createStreamSlots } from '../src/domain/limiter/stream-slots.ts'
import { createStreamPlanner, parseStreamRequest } from '../src/domain/stream-plan.ts'
import { eventFaultAction } from '../src/domain/stream-faults.ts'

const caller = { tenantId: 'ten_a', tenantSlug: 'acme', keyId: 'key_1' }

function planner (faults: unknown[] = [], max = 2) {
  const events = createMemoryEventLog({ capacity: 10, now: () => 0 })
  const recorded: Array<[string, Record<string, unknown>]> = []
  const slots = createStreamSlots({ max })
  const plan = createFaultPlan(validateFaultPlan({ seed: 1, faults }), 1)
  const p = createStreamPlanner({ slots, faults: () => plan, events: () => events, record: (t, f) => { recorded.push([t, f]) }, maxStreamsPerKey: max, retryMs: () => 3000 })
  return { p, events, recorded, slots }
}

describe('stream plan', () => {
  it('reads subjects and the resume id, the header winning over the query', () => {
    const r = parseStreamRequest({ 'last-event-id': '7' }, { subjects: 'wallet.*', last_event_id: '3' })
    expect(r.resume).toEqual({ id: 7, via: 'header' })
    expect(r.patterns).toEqual(['wallet.*'])
    expect(() => parseStreamRequest({}, { last_event_id: 'x' })).toThrow(ApiError)
  })

  it('holds a slot per plan and refuses past the cap with too_many_streams', async () => {
    const { p, slots } = planner([], 1)
    const a = await p.prepare(caller, 'req_1', {}, {})
    expect(a.streamId).toBe('str_000001')
    expect(a.retryMs).toBe(3000)
    await expect(p.prepare(caller, 'req_2', {}, {})).rejects.toMatchObject({ code: 'too_many_streams' })
    p.abandon(a)
    expect(slots.count(caller.keyId)).toBe(0)
  })

  it('refuses under sse-reject, records the fault and gives the slot back', async () => {
    const { p, recorded, slots } = planner([{ type: 'sse-reject', status: 503, retryAfterS: 2 }])
    await expect(p.prepare(caller, 'req_1', {}, {})).rejects.toMatchObject({ code: 'service_unavailable', headers: { 'retry-after': '2' } })
    expect(recorded[0]![1]).toMatchObject({ fault: 'sse-reject', status: 503, streamId: 'str_000001' })
    expect(slots.count(caller.keyId)).toBe(0)
  })

  it('starts k events early on resume under sse-duplicate, never before the retained window', async () => {
    const { p, events } = planner([{ type: 'sse-duplicate', count: 3 }])
    for (let i = 0; i < 5; i++) await events.publish(caller.tenantId, 'wallet.created', { i })
    const plan = await p.prepare(caller, 'req_1', { 'last-event-id': '4' }, {})
    expect(plan.after).toBe(1)
    expect(plan.duplicateUpTo).toBe(4)
    const edge = await p.prepare(caller, 'req_2', { 'last-event-id': '2' }, {})
    expect(edge.after).toBe(0)
    expect(edge.duplicateUpTo).toBe(2)
  })
})

describe('per-event fault action', () => {
  const base: SseFaultDecision = { reject: undefined, retryMs: undefined, drop: undefined, duplicate: 0, gap: undefined, stall: undefined, labels: [] }

  it('stalls once at afterEvents, then lets events through', () => {
    const f = { ...base, stall: { afterEvents: 2, durationMs: 10 } }
    expect(eventFaultAction(f, 1, false, false)).toBe('send')
    expect(eventFaultAction(f, 2, false, false)).toBe('stall')
    expect(eventFaultAction(f, 2, true, false)).toBe('send')
  })

  it('drops from afterEvents on, when armed by its timer, or by its seeded probability', () => {
    const drop = { afterEvents: 3, afterMs: undefined, eventProbability: 0, where: 'between-frames' as const, random: () => 0.5 }
    expect(eventFaultAction({ ...base, drop }, 2, false, false)).toBe('send')
    expect(eventFaultAction({ ...base, drop }, 3, false, false)).toBe('drop')
    expect(eventFaultAction({ ...base, drop: { ...drop, afterEvents: undefined } }, 0, false, true)).toBe('drop')
    expect(eventFaultAction({ ...base, drop: { ...drop, afterEvents: undefined, eventProbability: 0.6 } }, 0, false, false)).toBe('drop')
    expect(eventFaultAction({ ...base, drop: { ...drop, afterEvents: undefined, eventProbability: 0.4 } }, 0, false, false)).toBe('send')
  })
})
