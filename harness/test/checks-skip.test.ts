// No pass without an exercise: every check reports `skip` (never `pass`) when the condition it needs
// did not occur for the client under test, with the reason and the condition in its result. The
// evidence here is a busy, well-behaved client that simply never met the situation a check judges.
import { describe, expect, it } from 'vitest'
import { CATALOG } from '../src/checks/catalog.ts'
import { runChecks, type CheckResult, CHECK_GROUPS, DRILL_CHECK_GROUPS } from '../src/checks/index.ts'
import type { AnyEntry, DropEntry, Evidence, FrameEntry, RequestEntry, StreamEntry } from '../src/evidence.ts'
import type { Span } from '../src/otlp/index.ts'
import { KEY_ID, CANARY, T0, LIST, CREATE, STREAM } from './helpers/fixtures.ts'

let seq = 0

function req (start: number, o: Partial<RequestEntry> = {}): RequestEntry {
  const took = o.durationMs ?? 2
  return {
    seq: ++seq, type: 'request', ts: T0 + start + took, requestId: `req_${seq}`, clientRequestId: true, method: 'GET', route: LIST, path: LIST,
    status: 200, durationMs: took, tenant: 'tenant-1', keyId: KEY_ID, auth: 'ok', code: null, rateLimit: null, idempotencyKey: null,
    idempotency: null, faults: null, lostResponse: false, retryAfterS: null, ...o
  }
}
const post = (start: number, o: Partial<RequestEntry> = {}) => req(start, { method: 'POST', route: CREATE, path: CREATE, status: 201, idempotencyKey: `k${seq}`, idempotency: 'new', ...o })
function open (id: string, at: number, lastEventId: number | null = null): StreamEntry {
  return { seq: ++seq, type: 'stream', ts: T0 + at, phase: 'open', streamId: id, keyId: KEY_ID, tenant: 'tenant-1', requestId: `r-${id}`, lastEventId, retryMs: 1000 }
}
function close (id: string, at: number, reason: string): StreamEntry {
  return { seq: ++seq, type: 'stream', ts: T0 + at, phase: 'close', streamId: id, keyId: KEY_ID, tenant: 'tenant-1', requestId: `r-${id}`, reason }
}
const frame = (streamId: string, id: number, at: number): FrameEntry => ({ seq: ++seq, type: 'frame', ts: T0 + at, streamId, keyId: KEY_ID, id, event: 'wallet.created' })
function span (eventId: string, n: number): Span {
  return {
    traceId: 'a'.repeat(32), spanId: n.toString(16).padStart(16, '0'), parentSpanId: undefined, traceState: undefined, flags: 1, name: 'process wallet.created', kind: 'consumer',
    startTimeUnixNano: 1n, endTimeUnixNano: 2n, durationMs: 0, attributes: { 'messaging.message.id': eventId }, events: [], links: [],
    status: { code: 'unset', message: '' }, resource: {}, scope: { name: 'test', version: '', attributes: {} }, droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0
  }
}

function evidence (record: AnyEntry[], o: { spans?: Span[], outputs?: Evidence['outputs'], revokedAtMs?: number } = {}): Evidence {
  return {
    record, keyIds: [KEY_ID], canaries: [CANARY], outputs: o.outputs ?? [{ source: 'stdout', text: 'listed wallets\n' }], scanDirs: [], spans: o.spans ?? [],
    setup: { retryMs: 1000, heartbeatMs: 1000, stallDetectMs: 5000, toleranceMs: 50, maxRetries: 5, endMs: T0 + 60_000, ...(o.revokedAtMs === undefined ? {} : { revokedAtMs: T0 + o.revokedAtMs }) }
  }
}

/** A client that lists, creates and consumes one stream that it holds for the whole run: no fault ever reached it. */
function untouched (): { record: AnyEntry[], spans: Span[] } {
  const record: AnyEntry[] = []
  for (let t = 0; t < 50_000; t += 1000) record.push(req(t), post(t + 500))
  record.push(req(0, { route: STREAM, path: STREAM, durationMs: 59_000 }), open('str_1', 1))
  const spans: Span[] = []
  for (let i = 1; i <= 40; i++) { record.push(frame('str_1', i, 100 * i)); spans.push(span(String(i), i)) }
  record.push(close('str_1', 59_000, 'client'))
  return { record, spans }
}

async function verdicts (e: Evidence): Promise<Map<string, CheckResult>> {
  // Every group, the drills' included: with no drill set up, their checks must skip like the others.
  return new Map((await runChecks(e, [...CHECK_GROUPS, ...DRILL_CHECK_GROUPS])).map((c) => [c.id, c]))
}

function expectSkip (c: CheckResult | undefined, reason: RegExp): void {
  expect(c, 'verdict present').toBeDefined()
  expect(c!.status, `${c!.id}: ${c!.summary}`).toBe('skip')
  expect(c!.summary).toMatch(reason)
  expect(c!.requires).toBe(CATALOG[c!.id]!.requires)
  expect(c!.evidence.requires).toBe(CATALOG[c!.id]!.requires)
}

describe('no pass without an exercise', () => {
  it('states a condition for every check the harness runs, and only for those', async () => {
    const { record, spans } = untouched()
    const ids = [...(await verdicts(evidence(record, { spans }))).keys()].sort()
    expect(ids).toEqual(Object.keys(CATALOG).sort())
    for (const id of ids) expect(CATALOG[id]!.requires.length, id).toBeGreaterThan(10)
  })

  it('skips every fault-driven check for a busy client that met no fault, and passes only what it did exercise', async () => {
    const { record, spans } = untouched()
    const v = await verdicts(evidence(record, { spans }))
    const passed = [...v.values()].filter((c) => c.status === 'pass').map((c) => c.id).sort()
    expect(passed).toEqual(['auth/key-in-header', 'idempotency/keys-on-posts', 'secrets/no-leak'])
    expect([...v.values()].filter((c) => c.status !== 'pass').every((c) => c.status === 'skip')).toBe(true)
  })

  it('auth/key-in-header: skip without a single request', async () => {
    expectSkip((await verdicts(evidence([]))).get('auth/key-in-header'), /no request/)
  })

  it('auth/no-hot-loop-after-401: skip when the key was revoked but no request met the 401', async () => {
    const v = await verdicts(evidence([req(0), req(1000)], { revokedAtMs: 2000 }))
    expectSkip(v.get('auth/no-hot-loop-after-401'), /no request was refused with 401/)
  })

  it('throttling/retry-after: skip when no 429 or 503 carried Retry-After', async () => {
    expectSkip((await verdicts(evidence([req(0, { status: 500 }), req(300)]))).get('throttling/retry-after'), /never told to wait/)
  })

  it('throttling/no-429-storm: skip when no 429 was answered, even with 503s', async () => {
    expectSkip((await verdicts(evidence([req(0, { status: 503, retryAfterS: 1 }), req(1500)]))).get('throttling/no-429-storm'), /no 429/)
  })

  it('throttling/backoff: skip when the only retried failures carried Retry-After', async () => {
    expectSkip((await verdicts(evidence([req(0, { status: 503, retryAfterS: 1 }), req(1500)]))).get('throttling/backoff'), /retried no 5xx|waited for a Retry-After/)
  })

  it('throttling/retry-cap: skip when every failing request succeeded within its retries', async () => {
    const record = [req(0, { status: 500, requestId: 'a' }), req(100, { status: 500, requestId: 'a' }), req(300, { requestId: 'a' }), req(1000, { requestId: 'b' })]
    expectSkip((await verdicts(evidence(record))).get('throttling/retry-cap'), /no failure outlasted/)
  })

  it('reconnection/comes-back and respects-retry: skip without a drop, and with a drop too late to judge', async () => {
    const { record } = untouched()
    const v = await verdicts(evidence(record))
    expectSkip(v.get('reconnection/comes-back'), /no stream was dropped/)
    expectSkip(v.get('reconnection/respects-retry'), /no stream was dropped/)
    const late: DropEntry = { seq: ++seq, type: 'drop', ts: T0 + 58_000, streamId: 'str_1', keyId: KEY_ID, requestId: 'r-str_1', reason: 'fault', lastId: 40 }
    expectSkip((await verdicts(evidence([...record, late]))).get('reconnection/comes-back'), /no stream was dropped early enough/)
  })

  it('reconnection/last-event-id: skip when every drop came before the first complete event', async () => {
    const record: AnyEntry[] = [req(0, { route: STREAM, path: STREAM, durationMs: 500 }), open('s1', 0),
      { seq: ++seq, type: 'drop', ts: T0 + 500, streamId: 's1', keyId: KEY_ID, requestId: 'r-s1', reason: 'fault', lastId: null } satisfies DropEntry,
      close('s1', 500, 'fault'), req(1600, { route: STREAM, path: STREAM, durationMs: 30_000 }), open('s2', 1600)]
    const v = await verdicts(evidence(record))
    expect(v.get('reconnection/comes-back')!.status).toBe('pass')
    expectSkip(v.get('reconnection/last-event-id'), /no id to resume from/)
  })

  it('reconnection/no-hot-loop: skip when the server never ended, stalled or refused a stream', async () => {
    const { record } = untouched()
    expectSkip((await verdicts(evidence(record))).get('reconnection/no-hot-loop'), /never had to reconnect/)
  })

  it('reconnection/stall-detected and gap-resync: skip without a stall or a stream.gap', async () => {
    const { record } = untouched()
    const v = await verdicts(evidence(record))
    expectSkip(v.get('reconnection/stall-detected'), /no stall/)
    expectSkip(v.get('reconnection/gap-resync'), /no stream.gap/)
  })

  it('idempotency/keys-on-posts: skip without a POST', async () => {
    expectSkip((await verdicts(evidence([req(0)]))).get('idempotency/keys-on-posts'), /no POST/)
  })

  it('idempotency/retry-reuses-key and no-duplicates: skip when no response was lost', async () => {
    const v = await verdicts(evidence([post(0), post(1000)]))
    expectSkip(v.get('idempotency/retry-reuses-key'), /no response was lost/)
    expectSkip(v.get('idempotency/no-duplicates'), /no response was lost/)
  })

  it('idempotency/events-once: skip when no event was delivered twice, even with consumer spans for every event', async () => {
    const { record, spans } = untouched()
    expectSkip((await verdicts(evidence(record, { spans }))).get('idempotency/events-once'), /no event was delivered to the client more than once/)
  })

  it('idempotency/events-once: skip when events were delivered twice but no consumer span covers them', async () => {
    const { record, spans } = untouched()
    const again = [frame('str_1', 38, 5000), frame('str_1', 39, 5001)]
    expectSkip((await verdicts(evidence([...record, ...again]))).get('idempotency/events-once'), /sent no traces/)
    const partial = spans.filter((s) => s.attributes['messaging.message.id'] !== '38' && s.attributes['messaging.message.id'] !== '39')
    expectSkip((await verdicts(evidence([...record, ...again], { spans: partial }))).get('idempotency/events-once'), /no consumer span names any of them/)
    // Covered: now it is judged, and a client that handled them once passes.
    expect((await verdicts(evidence([...record, ...again], { spans }))).get('idempotency/events-once')!.status).toBe('pass')
  })

  it('secrets/no-leak: skip a clean client that never used its key, but fail one that printed it', async () => {
    expectSkip((await verdicts(evidence([]))).get('secrets/no-leak'), /made no request with its key/)
    const leaked = await verdicts(evidence([], { outputs: [{ source: 'stdout', text: `key=${CANARY}\n` }] }))
    expect(leaked.get('secrets/no-leak')!.status).toBe('fail')
  })
})
