// Fault sse-gap (contract 4.4, 7.2): a gap is made by the plan, not by racing the log's capacity
// against the clock. Observed from the client side of a real socket, for the Fastify mock; the msw
// handlers run the same planResume (domain/resume-faults.ts).
import { afterEach, describe, expect, it } from 'vitest'
import { control, headersFor, QUIET, readRecord, startMock, type TestMock } from './helper.ts'
import { openRaw, type RawStream } from './helpers/sse.ts'
import type { FaultSpec } from '../src/domain/fault-plan.ts'
import { createFaultPlan, validateFaultPlan } from '../src/domain/fault-plan.ts'
import { planResume } from '../src/domain/resume-faults.ts'

const mocks: TestMock[] = []
const cleanups: Array<() => void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) c()
  for (const m of mocks.splice(0)) await m.close()
})

async function mock (faults: FaultSpec[]) {
  const m = await startMock({ ...QUIET, events: { heartbeatMs: 60_000, capacity: 10_000 } })
  mocks.push(m)
  const r = await control(m, 'PUT', '/__harness/faults', { seed: 7, faults })
  expect(r.status, JSON.stringify(r.body)).toBe(200)
  return m
}
async function open (m: TestMock, headers: Record<string, string> = {}): Promise<RawStream> {
  const s = await openRaw(`${m.url}/api/events/stream`, headersFor(m.keys.acme, headers))
  cleanups.push(() => s.close())
  return s
}
async function publishMany (m: TestMock, n: number) {
  for (let i = 0; i < n; i++) await m.app.mock.events.publish(m.keys.acme.tenantId, 'wallet.created', { i })
}

describe('sse-gap (contract 4.4, 7.2)', () => {
  it('announces every event after the resume id as lost, then continues live, with the log still holding them', async () => {
    const m = await mock([{ id: 'gap', type: 'sse-gap' }])
    await publishMany(m, 12)
    const s = await open(m, { 'last-event-id': '4' })
    await s.waitFor((x) => x.events().length >= 1)
    await publishMany(m, 2)
    await s.waitFor((x) => x.events().length === 3)
    expect(s.events().map((b) => [b.event, b.id])).toEqual([['stream.gap', '12'], ['wallet.created', '13'], ['wallet.created', '14']])
    expect(JSON.parse(s.events()[0]!.data ?? '')).toEqual({ from: 5, to: 12 })
    const rec = await readRecord(m)
    expect(rec.find((e) => e.type === 'fault' && e.fault === 'sse-gap')).toMatchObject({ from: 5, to: 12, labels: ['gap'] })
    expect(rec.find((e) => e.type === 'frame' && e.event === 'stream.gap')).toMatchObject({ from: 5, to: 12 })
  })

  it('loses only `count` events when given, and announces the next event when nothing came after the id yet', async () => {
    const m = await mock([{ type: 'sse-gap', count: 3, times: 1 }, { type: 'sse-gap', after: 1, times: 1 }])
    await publishMany(m, 10)
    const some = await open(m, { 'last-event-id': '2' })
    await some.waitFor((x) => x.events().length === 6)
    expect(some.events().map((b) => b.event === 'stream.gap' ? `gap ${b.data}` : b.id)).toEqual(['gap {"from":3,"to":5}', '6', '7', '8', '9', '10'])
    some.close()
    // At the live edge: the next event published is the one lost.
    const edge = await open(m, { 'last-event-id': '10' })
    await publishMany(m, 2)
    await edge.waitFor((x) => x.events().length === 2)
    expect(edge.events().map((b) => b.event === 'stream.gap' ? `gap ${b.data}` : b.id)).toEqual(['gap {"from":11,"to":11}', '12'])
  })

  it('acts on resumes only: a first connection neither fires it nor counts toward `after`', async () => {
    const m = await mock([{ type: 'sse-gap', after: 1, times: 1 }])
    await publishMany(m, 5)
    const first = await open(m)
    await publishMany(m, 1)
    await first.waitFor((x) => x.events().length === 1)
    first.close()
    const resume1 = await open(m, { 'last-event-id': '3' })
    await resume1.waitFor((x) => x.events().length === 3)
    expect(resume1.events().map((b) => b.id)).toEqual(['4', '5', '6'])
    resume1.close()
    const resume2 = await open(m, { 'last-event-id': '6' })
    await publishMany(m, 1)
    await resume2.waitFor((x) => x.events().length === 1)
    expect(resume2.events()[0]!.event).toBe('stream.gap')
  })
})

describe('one resume is never both a duplicate and a gap', () => {
  const target = { tenantId: 't', tenantSlug: 't', keyId: 'k', method: 'GET', route: '/api/events/stream', resume: true }

  it('gives the first of the two in plan order to a resume and keeps the other for a later one', () => {
    const plan = createFaultPlan(validateFaultPlan({ faults: [{ id: 'dup', type: 'sse-duplicate', count: 3, times: 1 }, { id: 'gap', type: 'sse-gap', times: 1 }] }), 1)
    const a = plan.sse(target)!
    expect([a.duplicate, a.gap]).toEqual([3, undefined])
    const b = plan.sse(target)!
    expect([b.duplicate, b.gap]).toEqual([0, { count: undefined }])
    expect(plan.stats().map((s) => [s.id, s.seen, s.applied])).toEqual([['dup', 2, 1], ['gap', 2, 1]])
    // `after` counts every resume for both: a gap planned for the second resume lands there even
    // when a duplicate took the first.
    const planned = createFaultPlan(validateFaultPlan({ faults: [{ id: 'dup', type: 'sse-duplicate', count: 3, times: 1 }, { id: 'gap', type: 'sse-gap', after: 1, times: 1 }] }), 1)
    expect(planned.sse(target)!.duplicate).toBe(3)
    expect(planned.sse(target)!.gap).toEqual({ count: undefined })
  })

  it('a duplicate resume re-sends from the log whatever the moment the client came back', async () => {
    const faults = { reject: undefined, retryMs: undefined, drop: undefined, duplicate: 3, gap: undefined, stall: undefined, labels: ['dup'] }
    for (const lastSeq of [20, 200, 2000]) {
      const p = await planResume(async () => ({ firstSeq: 1, lastSeq }), 10, faults)
      expect(p).toEqual({ after: 7, duplicateUpTo: 10, gap: undefined, gapNext: false })
    }
  })

  it('spends no other stream fault on a refused connection: they wait for one that opens', () => {
    const plan = createFaultPlan(validateFaultPlan({ faults: [
      { id: 'gap', type: 'sse-gap', after: 1, times: 1 },
      { id: 'drop', type: 'sse-drop', afterEvents: 3, after: 1, times: 1 },
      { id: 'reject', type: 'sse-reject', status: 503, retryAfterS: 1, after: 1, times: 1 }
    ] }), 1)
    expect(plan.sse(target)).toBeUndefined()
    const refused = plan.sse(target)!
    expect([refused.reject, refused.gap, refused.drop, refused.labels]).toEqual([{ status: 503, retryAfterS: 1 }, undefined, undefined, ['reject']])
    const next = plan.sse(target)!
    expect([next.reject, next.gap, next.drop?.afterEvents, next.labels]).toEqual([undefined, { count: undefined }, 3, ['gap', 'drop']])
  })

  it('rejects a gap count that is not a positive integer', () => {
    expect(() => validateFaultPlan({ faults: [{ type: 'sse-gap', count: 0 }] })).toThrow(/invalid/)
    expect(() => validateFaultPlan({ faults: [{ type: 'sse-gap', where: 'x' }] })).toThrow(/invalid/)
  })
})
