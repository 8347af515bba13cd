// The verdicts (issue 6 item 3) as pure functions of hand-built evidence: the mock's record entries
// (contract 7.3), the client's output and its spans. Each check passes and fails where it should,
// with the boundaries spelled out: Retry-After tolerance, jitter, retry chains with and without
// client request ids, and what happens near the end of a run.
import { describe, expect, it } from 'vitest'
import { checkAuth, checkIdempotency, checkReconnection, checkSecrets, checkThrottling, runChecks, type CheckResult } from '../src/checks/index.ts'
import { HOT_LOOP_AFTER_401 } from '../src/checks/auth.ts'
import { MAX_STREAM_ATTEMPTS_PER_S, RESYNC_WITHIN_MS } from '../src/checks/reconnection.ts'
import { CONCURRENT_GRACE_MS, STORM_429_PER_S, retryChains } from '../src/checks/throttling.ts'
import type { AnyEntry, DropEntry, Evidence, FaultEntry, FrameEntry, RequestEntry, StreamEntry } from '../src/evidence.ts'
import type { Span } from '../src/otlp/index.ts'
import { KEY_ID, CANARY, T0, LIST, CREATE, STREAM } from './helpers/fixtures.ts'


let seq = 0
/** A request entry that started at `start` (ms after T0) and took `took` ms. */
function req (start: number, o: Partial<RequestEntry> & { took?: number } = {}): RequestEntry {
  const took = o.took ?? 2
  seq++
  return {
    seq,
    type: 'request',
    ts: T0 + start + took,
    requestId: `req_${seq}`,
    clientRequestId: false,
    method: 'GET',
    route: LIST,
    path: LIST,
    status: 200,
    durationMs: took,
    tenant: 'tenant-1',
    keyId: KEY_ID,
    auth: 'ok',
    code: null,
    rateLimit: null,
    idempotencyKey: null,
    idempotency: null,
    faults: null,
    lostResponse: false,
    retryAfterS: null,
    ...o
  }
}

function evidence (record: AnyEntry[], o: { setup?: Partial<Evidence['setup']>, spans?: Span[], outputs?: Evidence['outputs'], endAt?: number } = {}): Evidence {
  return {
    record,
    keyIds: [KEY_ID],
    canaries: [CANARY],
    outputs: o.outputs ?? [],
    scanDirs: [],
    spans: o.spans ?? [],
    setup: { retryMs: 1000, heartbeatMs: 1000, stallDetectMs: 5000, toleranceMs: 50, maxRetries: 5, endMs: T0 + (o.endAt ?? 60_000), ...o.setup }
  }
}

function byId (results: CheckResult[], id: string): CheckResult {
  const r = results.find((c) => c.id === id)
  if (r === undefined) throw new Error(`no verdict ${id} in ${results.map((c) => c.id).join(', ')}`)
  return r
}

/** A 500 chain of one logical request: failures at the given gaps (ms between a response and the next attempt), then a success. */
function chain (start: number, gaps: number[], o: Partial<RequestEntry> = {}): RequestEntry[] {
  const out: RequestEntry[] = []
  let t = start
  for (let i = 0; i <= gaps.length; i++) {
    const r = req(t, { status: i < gaps.length ? 500 : 200, code: i < gaps.length ? 'internal_error' : null, ...o })
    out.push(r)
    if (i < gaps.length) t = r.ts - T0 + gaps[i]!
  }
  return out
}

/** Deterministic "random" gaps in [0, ceiling): a fixed low-discrepancy sequence, not Math.random. */
function jittered (n: number, k: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(((k * 0.618 + i * 0.382) % 1) * 200 * 2 ** i))
}

describe('throttling/retry-after', () => {
  const told = (o: Partial<RequestEntry> & { took?: number } = {}) => req(1000, { status: 429, code: 'rate_limited', retryAfterS: 2, ...o })

  it('passes when the next request waits the whole Retry-After from the 429\'s arrival, less the tolerance', () => {
    const r = told()
    const next = req(1000 + 2000 - 50)
    expect(byId(checkThrottling(evidence([r, next])), 'throttling/retry-after').status).toBe('pass')
  })

  it('counts from the earliest moment the 429 can have left: a loaded mock stamps its record late', () => {
    const r = told({ took: 120 })
    expect(byId(checkThrottling(evidence([r, req(1000 + 2000 - 50)])), 'throttling/retry-after').status).toBe('pass')
  })

  it('fails a request that comes one millisecond earlier than that', () => {
    const r = told()
    const next = req(1000 + 2000 - 51)
    const v = byId(checkThrottling(evidence([r, next])), 'throttling/retry-after')
    expect(v.status).toBe('fail')
    expect(v.violations[0]).toMatchObject({ retryAfterS: 2, requestId: next.requestId })
  })

  it('does not count a request that reached the mock within the tolerance after the 429 was written', () => {
    const r = told()
    expect(byId(checkThrottling(evidence([r, req(r.ts - T0 + 50)])), 'throttling/retry-after').status).toBe('pass')
    expect(byId(checkThrottling(evidence([r, req(r.ts - T0 + 51)])), 'throttling/retry-after').status).toBe('fail')
  })

  it('gives another named logical request the concurrency grace, but not a retry of the same one', () => {
    const r = told({ clientRequestId: true, requestId: 'op-1' })
    const other = req(r.ts - T0 + 50 + CONCURRENT_GRACE_MS, { clientRequestId: true, requestId: 'op-2', route: CREATE, method: 'POST' })
    expect(byId(checkThrottling(evidence([r, other])), 'throttling/retry-after').status).toBe('pass')
    const later = req(r.ts - T0 + 51 + CONCURRENT_GRACE_MS, { clientRequestId: true, requestId: 'op-3' })
    expect(byId(checkThrottling(evidence([r, later])), 'throttling/retry-after').status).toBe('fail')
    const retry = req(r.ts - T0 + 51, { clientRequestId: true, requestId: 'op-1' })
    expect(byId(checkThrottling(evidence([r, retry])), 'throttling/retry-after').status).toBe('fail')
  })

  it('holds a request without a client request id to the plain tolerance', () => {
    const r = told({ clientRequestId: true, requestId: 'op-1' })
    const unnamed = req(r.ts - T0 + 100, { route: CREATE, method: 'POST' })
    expect(byId(checkThrottling(evidence([r, unnamed])), 'throttling/retry-after').status).toBe('fail')
  })

  it('applies a 429 to the whole key and a 503 to its route only (contract 5.3)', () => {
    const r429 = told()
    const elsewhere = req(r429.ts - T0 + 500, { route: STREAM, path: STREAM })
    const v = byId(checkThrottling(evidence([r429, elsewhere])), 'throttling/retry-after')
    expect(v.status).toBe('fail')
    // The message names the request that broke the wait, and why a request on another route counts.
    expect(v.violations[0]!.message).toMatch(new RegExp(`^GET ${STREAM} sent \\d+ ms after a 429 \\(Retry-After: 2 s\\) on GET ${LIST}, \\d+ ms too early: a 429 applies to every request of the key`))
    expect(v.violations[0]).toMatchObject({ route: STREAM, requestId: elsewhere.requestId })
    const r503 = told({ status: 503, code: 'service_unavailable' })
    const elsewhere2 = req(r503.ts - T0 + 500, { route: STREAM, path: STREAM })
    expect(byId(checkThrottling(evidence([r503, elsewhere2])), 'throttling/retry-after').status).toBe('pass')
  })

  it('reads Retry-After from the rate-limit decision when the header field was not recorded', () => {
    const r = told({ retryAfterS: null, rateLimit: { allowed: false, limit: 10, remaining: 0, resetAtMs: T0 + 5000, retryAfterS: 3 } })
    expect(byId(checkThrottling(evidence([r, req(r.ts - T0 + 2500)])), 'throttling/retry-after').status).toBe('fail')
  })

  it('skips when the client was never told to wait', () => {
    const v = byId(checkThrottling(evidence([req(0), req(100, { status: 500 })])), 'throttling/retry-after')
    expect(v.status).toBe('skip')
  })
})

describe('throttling/no-429-storm', () => {
  const burst = (n: number) => Array.from({ length: n }, (_, i) => req(i * 150, { status: 429, code: 'rate_limited', retryAfterS: null }))

  it(`allows ${STORM_429_PER_S} 429s within a second`, () => {
    expect(byId(checkThrottling(evidence(burst(STORM_429_PER_S))), 'throttling/no-429-storm').status).toBe('pass')
  })

  it(`fails at ${STORM_429_PER_S + 1} 429s within a second, once per storm`, () => {
    const v = byId(checkThrottling(evidence(burst(STORM_429_PER_S + 2))), 'throttling/no-429-storm')
    expect(v.status).toBe('fail')
    expect(v.violations).toHaveLength(1)
  })
})

describe('throttling/backoff', () => {
  it('passes capped exponential backoff with full jitter', () => {
    const record = [0, 1, 2, 3, 4].flatMap((k) => chain(k * 10_000, jittered(4, k)))
    const v = byId(checkThrottling(evidence(record)), 'throttling/backoff')
    expect(v.status, v.summary).toBe('pass')
  })

  it('fails retries that follow at once', () => {
    const record = [0, 1, 2, 3].flatMap((k) => chain(k * 10_000, [1, 3, 2, 40]))
    const v = byId(checkThrottling(evidence(record)), 'throttling/backoff')
    expect(v.status).toBe('fail')
    expect(v.violations[0]!.message).toMatch(/at once/)
  })

  it('fails a fixed wait: it neither grows nor spreads', () => {
    const record = [0, 1, 2, 3].flatMap((k) => chain(k * 10_000, [200, 201, 199, 202]))
    const v = byId(checkThrottling(evidence(record)), 'throttling/backoff')
    expect(v.violations.map((x) => x.message).join('\n')).toMatch(/does not grow[\s\S]*not jittered/)
  })

  it('does not take one late timer for growth', () => {
    const record = [0, 1, 2, 3].flatMap((k) => chain(k * 10_000, [200 + k, 201, 199 + k, k === 3 ? 2000 : 200]))
    const v = byId(checkThrottling(evidence(record)), 'throttling/backoff')
    expect(v.violations[0]!.message).toMatch(/does not grow: the longest gaps \(second-largest\) are 20\d ms at the first retry and 20\d ms/)
  })

  it('fails exponential backoff without jitter, even with a late timer at two attempts', () => {
    // One gap 60 ms late at the first retry and one 120 ms late at the second: each spreads its index
    // by over 20 % of the mean, but it is one sample, not a spread.
    const record = [0, 1, 2, 3].flatMap((k) => chain(k * 10_000, [200 + (k === 2 ? 60 : k), 400 + (k === 1 ? 120 : k), 800 - k, 1000 + k]))
    const v = byId(checkThrottling(evidence(record)), 'throttling/backoff')
    expect(v.status).toBe('fail')
    expect(v.violations[0]!.message).toMatch(/not jittered/)
  })

  it('leaves out a retry held back by a Retry-After given meanwhile, so that wait reads as neither growth nor jitter', () => {
    // No jitter at all, but the first retry of one chain waited out a 503's Retry-After on the route.
    const record = [0, 1, 2, 3, 4].flatMap((k) => chain(k * 10_000, [(k === 2 ? 900 : 200) + k, 400 - k, 800 + k, 1000 - k], { clientRequestId: true, requestId: `op-${k}` }))
    const held = record.find((r) => r.ts - T0 > 20_000 && r.status === 500)!
    const wait = req(held.ts - T0 + 5, { status: 503, retryAfterS: 1, code: 'service_unavailable', requestId: 'other' })
    const v = byId(checkThrottling(evidence([...record, wait])), 'throttling/backoff')
    expect(v.status).toBe('fail')
    expect(v.evidence.samplesByAttempt).toEqual([4, 4, 5, 5])
    expect(v.violations[0]!.message).toMatch(/not jittered/)
  })

  it('skips, naming the counts, when too few waits were seen to judge jitter (growth alone is half the claim)', () => {
    // 3 waits at each of 4 attempts: 12, under the 14 jitter needs.
    const record = [0, 1, 2].flatMap((k) => chain(k * 10_000, jittered(4, k).map((g, i) => g + 100 * 2 ** i)))
    const v = byId(checkThrottling(evidence(record)), 'throttling/backoff')
    expect(v.status, v.summary).toBe('skip')
    expect(v.summary).toMatch(/jitter was not judged: it needs 14 waits .* \(had 3, 3, 3, 3 waits by attempt\)/)
    expect(v.evidence.jitterSpread).toBeNull()
    // One more chain of 4 (4, 4, 4, 4) is judged.
    const more = [0, 1, 2, 3].flatMap((k) => chain(k * 10_000, jittered(4, k).map((g, i) => g + 100 * 2 ** i)))
    expect(byId(checkThrottling(evidence(more)), 'throttling/backoff').status).toBe('pass')
  })

  it('credits the lag the harness saw: a spread that lag explains is a skip naming it, not a pass', () => {
    // No jitter, but every wait at the first retries ran 0-90 ms late on a busy machine.
    const record = [0, 1, 2, 3].flatMap((k) => chain(k * 10_000, [200 + k * 30, 400 + k * 30, 800 + k * 30, 1000 + k * 30]))
    const samples: Array<[number, number]> = record.map((r) => [r.ts + 100, 90])
    const busy = byId(checkThrottling(evidence(record, { setup: { lag: { intervalMs: 20, samples } } })), 'throttling/backoff')
    expect(busy.status, busy.summary).toBe('skip')
    expect(busy.summary).toMatch(/jitter cannot be told from lag.*median of up to 90 ms/)
    // The same waits with no lag seen: a spread that large is jitter.
    expect(byId(checkThrottling(evidence(record, { setup: { lag: { intervalMs: 20, samples: [] } } })), 'throttling/backoff').status).toBe('pass')
  })

  // The verdict on random jitter is statistical: these pin its error rates on seeded simulations of
  // the quick profile's samples (three chains of 4 failures and a success, then a persistent failure
  // the client gives up on three times: 5 failures each), on a fake clock. A loaded machine adds a
  // one-sided lag to every gap: exponential with the given mean, and now and then a 1-2 s stall,
  // which the harness's lag probe sees as late ticks (evidence.setup.lag).
  function simulate (gapAt: (attempt: number) => number, lag: () => number = () => 0): Evidence {
    const out: RequestEntry[] = []
    const samples: Array<[number, number]> = []
    for (let c = 0; c < 6; c++) {
      const failures = c >= 3 ? 5 : 4
      let t = c * 100_000
      for (let i = 0; i < failures; i++) {
        const r = req(t, { status: 500, clientRequestId: true, requestId: `sim-${c}` })
        out.push(r)
        const late = lag()
        t = r.ts - T0 + gapAt(i) + late
        if (late >= 1) samples.push([T0 + t, Math.round(late)])
      }
      if (c < 3) out.push(req(t, { clientRequestId: true, requestId: `sim-${c}` }))
    }
    return evidence(out, { setup: { lag: { intervalMs: 20, samples } } })
  }
  function mulberry32 (seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
  }
  const lagOf = (random: () => number, meanMs: number, stallP: number) => () =>
    -Math.log(1 - random()) * meanMs + (random() < stallP ? 1000 + random() * 1000 : 0)
  const capped = (base: number, cap: number) => (i: number) => Math.min(cap, base * 2 ** i)
  const fullJitter = (random: () => number, base: number, cap: number) => (i: number) => Math.floor(random() * capped(base, cap)(i))
  // AWS's "equal jitter": half the wait fixed, half random.
  const equalJitter = (random: () => number, base: number, cap: number) => (i: number) => capped(base, cap)(i) * (0.5 + random() / 2)
  // The wait +-20 % (a randomisation factor of 0.2, as some client libraries default to).
  const plusMinus20 = (random: () => number, base: number, cap: number) => (i: number) => capped(base, cap)(i) * (0.8 + random() * 0.4)

  it('passes 2000 simulated full-jitter clients, with no lag and with lag of mean 20 ms and 1-2 s stalls (reference: 100 ms base; examples: 200 ms, capped at 1 s)', () => {
    const random = mulberry32(42)
    for (const [base, cap] of [[100, 10_000], [200, 1000]] as const) {
      for (const [meanMs, stallP] of [[0, 0], [20, 0.02]] as const) {
        for (let n = 0; n < 500; n++) {
          const v = byId(checkThrottling(simulate(fullJitter(random, base, cap), lagOf(random, meanMs, stallP))), 'throttling/backoff')
          expect(v.status, `${base}/${cap} lag ${meanMs} #${n}: ${v.summary} ${v.violations.map((x) => x.message).join('; ')}`).toBe('pass')
        }
      }
    }
  })

  it('passes 2000 simulated clients each with equal jitter and with +-20 % jitter, with no lag and with lag of mean 3 ms', () => {
    const random = mulberry32(11)
    for (const scheme of [equalJitter, plusMinus20]) {
      for (const meanMs of [0, 3]) {
        for (let n = 0; n < 1000; n++) {
          const v = byId(checkThrottling(simulate(scheme(random, 200, 6000), lagOf(random, meanMs, 0))), 'throttling/backoff')
          expect(v.status, `${scheme.name} lag ${meanMs} #${n}: ${v.summary} ${v.violations.map((x) => x.message).join('; ')}`).toBe('pass')
        }
      }
    }
  })

  it('never passes a client without jitter: fails 250 simulated at a lag of mean 5 ms, and at 20-50 ms with 1-2 s stalls fails it or skips naming the lag', () => {
    const random = mulberry32(7)
    for (const [meanMs, stallP] of [[0, 0], [5, 0.02], [20, 0.02], [50, 0.02]] as const) {
      for (let n = 0; n < 250; n++) {
        const v = byId(checkThrottling(simulate(capped(200, 1000), lagOf(random, meanMs, stallP))), 'throttling/backoff')
        if (meanMs <= 5) expect(v.status, `lag ${meanMs} #${n}: ${v.summary}`).toBe('fail')
        else expect(v.status === 'fail' || (v.status === 'skip' && /cannot be told from lag/.test(v.summary)), `lag ${meanMs} #${n}: ${v.status} ${v.summary}`).toBe(true)
      }
    }
  })

  it('fails 250 simulated clients that retry at once or after a fixed wait, at each scheduling lag up to a mean of 20 ms with 1-2 s stalls', () => {
    const random = mulberry32(9)
    for (const wait of [0, 200]) {
      for (const [meanMs, stallP] of [[2, 0.02], [5, 0.02], [20, 0.02]] as const) {
        for (let n = 0; n < 250; n++) {
          const v = byId(checkThrottling(simulate(() => wait, lagOf(random, meanMs, stallP))), 'throttling/backoff')
          expect(v.status, `wait ${wait} lag ${meanMs} #${n}: ${v.summary}`).toBe('fail')
        }
      }
    }
  })

  it('ignores 5xx that carried Retry-After, and skips when no 5xx was retried', () => {
    const r = req(0, { status: 503, retryAfterS: 1 })
    expect(byId(checkThrottling(evidence([r, req(r.ts - T0 + 1000)])), 'throttling/backoff').status).toBe('skip')
  })
})

describe('retry chains and throttling/retry-cap', () => {
  it('tells retries apart by the client request id when the client sets one', () => {
    // Two logical requests of 4 and 3 failures, back to back: one chain of 7 without ids.
    const a = chain(0, [10, 20, 40, 80], { clientRequestId: true, requestId: 'op-a' }).slice(0, 4)
    const b = chain(a[3]!.ts - T0 + 200, [10, 20, 40], { clientRequestId: true, requestId: 'op-b' })
    const named = [...a, ...b]
    expect(retryChains(named, (r) => r.status >= 500).map((c) => c.length)).toEqual([4, 4])
    expect(byId(checkThrottling(evidence(named)), 'throttling/retry-cap').status).toBe('pass')
    const unnamed = named.map((r) => ({ ...r, clientRequestId: false, requestId: `srv_${r.seq}` }))
    expect(retryChains(unnamed, (r) => r.status >= 500).map((c) => c.length)).toEqual([8])
    const v = byId(checkThrottling(evidence(unnamed)), 'throttling/retry-cap')
    expect(v.status).toBe('fail')
    expect(v.violations[0]!.message).toMatch(/^7 failed attempts/)
  })

  it('does not add an overlapping request on the same route to a chain', () => {
    const c = chain(0, [100, 100])
    const overlapping = req(c[0]!.ts - T0 - 1, { took: 50 })
    expect(retryChains([...c, overlapping], (r) => r.status >= 500).map((x) => x.length)).toEqual([3])
  })

  it(`allows maxRetries + 1 failed attempts in a row and fails one more`, () => {
    const six = chain(0, [10, 20, 40, 80, 160, 320])
    // The client gave up after six attempts and went on with other requests: exercised, and capped.
    const later = req(5000, { route: CREATE, path: CREATE, method: 'POST', status: 201 })
    expect(byId(checkThrottling(evidence([...six.slice(0, 6), later])), 'throttling/retry-cap').status).toBe('pass')
    expect(byId(checkThrottling(evidence(six.slice(0, 6), { setup: { maxRetries: 4 } })), 'throttling/retry-cap').status).toBe('fail')
    const seven = chain(0, [10, 20, 40, 80, 160, 320, 640])
    expect(byId(checkThrottling(evidence(seven)), 'throttling/retry-cap').status).toBe('fail')
  })

  it('does not count answers that said when to come back: eight 429s with Retry-After are no uncapped retries, eight without are', () => {
    const told = chain(0, [1000, 1000, 1000, 1000, 1000, 1000, 1000], { status: 429, code: 'rate_limited', retryAfterS: 1 }).slice(0, 7)
    const after = req(20_000, { route: CREATE, path: CREATE, method: 'POST', status: 201 })
    const v = byId(checkThrottling(evidence([...told, after])), 'throttling/retry-cap')
    expect(v.status, v.summary).toBe('skip')
    const bare = told.map((r) => ({ ...r, retryAfterS: null }))
    expect(byId(checkThrottling(evidence([...bare, after])), 'throttling/retry-cap').status).toBe('fail')
  })

  it('counts an unfinished chain at the end of the run', () => {
    const open = chain(0, [10, 20, 40, 80, 160, 320, 640]).slice(0, 7)
    expect(byId(checkThrottling(evidence(open)), 'throttling/retry-cap').status).toBe('fail')
  })

  it('skips when nothing was retried', () => {
    expect(byId(checkThrottling(evidence([req(0), req(100)])), 'throttling/retry-cap').status).toBe('skip')
  })
})

// Stream helpers: an accepted stream is a request entry (written when it closes), an open and a close.
let streamN = 0
interface Stream { request: RequestEntry, open: StreamEntry, close: StreamEntry, id: string }
function stream (openAt: number, closeAt: number, o: { lastEventId?: number | null, retryMs?: number, reason?: string, requestId?: string } = {}): Stream {
  const id = `str_${++streamN}`
  const request = req(openAt, { route: STREAM, path: STREAM, took: closeAt - openAt, ...(o.requestId === undefined ? {} : { requestId: o.requestId }) })
  return {
    id,
    request,
    open: { seq: ++seq, type: 'stream', ts: T0 + openAt, phase: 'open', streamId: id, keyId: KEY_ID, tenant: 'tenant-1', requestId: request.requestId, lastEventId: o.lastEventId ?? null, retryMs: o.retryMs ?? 1000 },
    close: { seq: ++seq, type: 'stream', ts: T0 + closeAt, phase: 'close', streamId: id, keyId: KEY_ID, tenant: 'tenant-1', requestId: request.requestId, reason: o.reason ?? 'fault' }
  }
}
function drop (s: Stream, at: number, lastId: number | null): DropEntry {
  return { seq: ++seq, type: 'drop', ts: T0 + at, streamId: s.id, keyId: KEY_ID, requestId: s.request.requestId, reason: 'fault', lastId }
}
const entries = (...ss: Stream[]) => ss.flatMap((s) => [s.request, s.open, s.close])

describe('reconnection checks', () => {
  it('pass a client that comes back after retry: with the last complete event id', () => {
    const a = stream(0, 2000)
    const b = stream(3000, 9000, { lastEventId: 17 })
    const r = checkReconnection(evidence([...entries(a, b), drop(a, 2000, 17)]))
    for (const id of ['comes-back', 'respects-retry', 'last-event-id', 'no-hot-loop']) expect(byId(r, `reconnection/${id}`).status, id).toBe('pass')
  })

  it('fail a reconnect that comes earlier than retry: less the tolerance, using the stream\'s own retry:', () => {
    const a = stream(0, 2000, { retryMs: 2000 })
    const ok = stream(2000 + 1950, 9000, { lastEventId: 17 })
    expect(byId(checkReconnection(evidence([...entries(a, ok), drop(a, 2000, 17)])), 'reconnection/respects-retry').status).toBe('pass')
    const early = stream(2000 + 1949, 9000, { lastEventId: 17 })
    const v = byId(checkReconnection(evidence([...entries(a, early), drop(a, 2000, 17)])), 'reconnection/respects-retry')
    expect(v.status).toBe('fail')
    expect(v.violations[0]).toMatchObject({ retryMs: 2000 })
  })

  it('fail a resume without Last-Event-ID or past the last complete event, and accept an earlier one', () => {
    const a = stream(0, 2000)
    const judge = (lastEventId: number | null) => byId(checkReconnection(evidence([...entries(a, stream(3000, 9000, { lastEventId })), drop(a, 2000, 17)])), 'reconnection/last-event-id').status
    expect(judge(null)).toBe('fail')
    expect(judge(18)).toBe('fail') // the id of a frame whose blank line never came
    expect(judge(17)).toBe('pass')
    expect(judge(12)).toBe('pass') // events still buffered were not handled: the server sends them again
  })

  it('judge a drop near the end only if the client already came back', () => {
    const a = stream(0, 56_000)
    const late = evidence([...entries(a), drop(a, 56_000, 5)], { endAt: 60_000 })
    expect(byId(checkReconnection(late), 'reconnection/comes-back').status).toBe('skip')
    const early = evidence([...entries(a), drop(a, 56_000, 5)], { endAt: 62_001 })
    expect(byId(checkReconnection(early), 'reconnection/comes-back').status).toBe('fail')
    const b = stream(57_500, 59_000, { lastEventId: 5 })
    const back = evidence([...entries(a, b), drop(a, 56_000, 5)], { endAt: 60_000 })
    expect(byId(checkReconnection(back), 'reconnection/comes-back').status).toBe('pass')
  })

  it('treat the revocation of the key as the end: a drop just before it is judged only if the client came back', () => {
    const a = stream(0, 20_000)
    const record = [...entries(a), drop(a, 20_000, 5)]
    expect(byId(checkReconnection(evidence(record, { endAt: 60_000 })), 'reconnection/comes-back').status).toBe('fail')
    expect(byId(checkReconnection(evidence(record, { endAt: 60_000, setup: { revokedAtMs: T0 + 23_000 } })), 'reconnection/comes-back').status).toBe('skip')
  })

  it('wait for a spent quota before judging a drop (X-RateLimit-Reset, contract 5.2)', () => {
    const a = stream(0, 20_000)
    const spent = (resetAt: number) => req(19_000, { rateLimit: { allowed: true, limit: 100, remaining: 0, resetAtMs: T0 + resetAt, retryAfterS: 0 } })
    expect(byId(checkReconnection(evidence([...entries(a), spent(70_000), drop(a, 20_000, 5)], { endAt: 60_000 })), 'reconnection/comes-back').status).toBe('skip')
    expect(byId(checkReconnection(evidence([...entries(a), spent(30_000), drop(a, 20_000, 5)], { endAt: 60_000 })), 'reconnection/comes-back').status).toBe('fail')
  })

  it(`fail more than ${MAX_STREAM_ATTEMPTS_PER_S} stream attempts within a second`, () => {
    const refused = (n: number) => Array.from({ length: n }, (_, i) => req(i * 150, { route: STREAM, path: STREAM, status: 401, auth: 'refused' }))
    expect(byId(checkReconnection(evidence(refused(MAX_STREAM_ATTEMPTS_PER_S))), 'reconnection/no-hot-loop').status).toBe('pass')
    expect(byId(checkReconnection(evidence(refused(MAX_STREAM_ATTEMPTS_PER_S + 1))), 'reconnection/no-hot-loop').status).toBe('fail')
  })

  function stalled (closedBy: 'client' | 'revoked' | undefined, closeAfter: number, endAt = 60_000) {
    const a = stream(0, 1000 + closeAfter, { reason: closedBy ?? 'shutdown' })
    const stall: FaultEntry = { seq: ++seq, type: 'fault', ts: T0 + 1000, streamId: a.id, keyId: KEY_ID, fault: 'sse-stall', phase: 'start' }
    const record: AnyEntry[] = [a.request, a.open, stall]
    if (closedBy !== undefined) record.push(a.close, ...entries(stream(1000 + closeAfter + 1000, endAt - 1000, { lastEventId: 3 })))
    return byId(checkReconnection(evidence(record, { endAt })), 'reconnection/stall-detected')
  }

  it('pass a stall the client notices within stallDetectMs, and fail one it notices later or never', () => {
    expect(stalled('client', 2500).status).toBe('pass')
    expect(stalled('client', 5000).status).toBe('pass')
    expect(stalled('client', 5001).status).toBe('fail')
    expect(stalled(undefined, 0).status).toBe('fail')
    expect(stalled('revoked', 2500).status).toBe('fail') // the server closed it, not the client
  })

  it('count a reconnect the server refused (the key was revoked meanwhile) as noticing the stall', () => {
    const a = stream(0, 3500, { reason: 'client' })
    const stall: FaultEntry = { seq: ++seq, type: 'fault', ts: T0 + 1000, streamId: a.id, keyId: KEY_ID, fault: 'sse-stall', phase: 'start' }
    const refused = req(4500, { route: STREAM, path: STREAM, status: 401, auth: 'refused', code: 'revoked_api_key' })
    expect(byId(checkReconnection(evidence([a.request, a.open, stall, a.close, refused])), 'reconnection/stall-detected').status).toBe('pass')
    expect(byId(checkReconnection(evidence([a.request, a.open, stall, a.close])), 'reconnection/stall-detected').status).toBe('fail')
  })

  it('skip a stall too close to the end to judge', () => {
    expect(stalled(undefined, 0, 1000 + 5000 + 1999).status).toBe('skip')
    expect(stalled(undefined, 0, 1000 + 5000 + 2000).status).toBe('fail')
  })

  it('skip a stall noticed in time whose retry the quota held back past the end', () => {
    const a = stream(0, 3500, { reason: 'client' })
    const stall: FaultEntry = { seq: ++seq, type: 'fault', ts: T0 + 1000, streamId: a.id, keyId: KEY_ID, fault: 'sse-stall', phase: 'start' }
    const spent = req(3000, { rateLimit: { allowed: true, limit: 100, remaining: 0, resetAtMs: T0 + 90_000, retryAfterS: 0 } })
    expect(byId(checkReconnection(evidence([a.request, a.open, stall, a.close, spent])), 'reconnection/stall-detected').status).toBe('skip')
    expect(byId(checkReconnection(evidence([a.request, a.open, stall, a.close])), 'reconnection/stall-detected').status).toBe('fail')
  })

  function gapped (listAt: number | undefined, o: { endAt?: number, resyncWithinMs?: number } = {}) {
    const a = stream(0, 30_000)
    const gap: FrameEntry = { seq: ++seq, type: 'frame', ts: T0 + 1000, streamId: a.id, keyId: KEY_ID, id: 40, event: 'stream.gap', from: 20, to: 40 }
    const record: AnyEntry[] = [...entries(a), gap, ...(listAt === undefined ? [] : [req(listAt)])]
    return byId(checkReconnection(evidence(record, { endAt: o.endAt ?? 60_000, setup: { resyncWithinMs: o.resyncWithinMs } })), 'reconnection/gap-resync')
  }

  it(`pass a wallet list within ${RESYNC_WITHIN_MS / 1000} s after a stream.gap and fail without one`, () => {
    expect(gapped(1000 + RESYNC_WITHIN_MS).status).toBe('pass')
    expect(gapped(1000 + RESYNC_WITHIN_MS + 1).status).toBe('fail')
    expect(gapped(999).status).toBe('fail') // a list before the gap is no resync
    expect(gapped(undefined).status).toBe('fail')
  })

  it('give a resync held back by a Retry-After the window from the end of that wait', () => {
    const a = stream(0, 30_000)
    const gap: FrameEntry = { seq: ++seq, type: 'frame', ts: T0 + 1000, streamId: a.id, keyId: KEY_ID, id: 40, event: 'stream.gap', from: 20, to: 40 }
    const told = req(900, { status: 429, retryAfterS: 3 })
    const judge = (listAt: number) => byId(checkReconnection(evidence([...entries(a), told, gap, req(listAt)], { setup: { resyncWithinMs: 2000 } })), 'reconnection/gap-resync').status
    expect(judge(900 + 2 + 3000 + 2000)).toBe('pass')
    expect(judge(900 + 2 + 3000 + 2001)).toBe('fail')
  })

  it('take the resync window from the profile and skip a gap too close to the end', () => {
    expect(gapped(1000 + 4000, { resyncWithinMs: 3000 }).status).toBe('fail')
    expect(gapped(undefined, { endAt: 1000 + RESYNC_WITHIN_MS - 1 }).status).toBe('skip')
  })

  it('skip every reconnection check when the client opened no stream', () => {
    const r = checkReconnection(evidence([req(0)]))
    expect(r).toHaveLength(6)
    expect(r.every((c) => c.status === 'skip')).toBe(true)
  })
})

describe('auth checks', () => {
  it('fail a key in the query string or the body', () => {
    expect(byId(checkAuth(evidence([req(0)])), 'auth/key-in-header').status).toBe('pass')
    expect(byId(checkAuth(evidence([req(0, { secretInUrl: true })])), 'auth/key-in-header').status).toBe('fail')
    expect(byId(checkAuth(evidence([req(0, { method: 'POST', route: CREATE, secretInBody: true })])), 'auth/key-in-header').status).toBe('fail')
  })

  it(`allow ${HOT_LOOP_AFTER_401} requests in the second after a 401 and fail one more`, () => {
    const after401 = (n: number) => {
      const r = req(0, { status: 401, auth: 'refused', code: 'revoked_api_key' })
      return [r, ...Array.from({ length: n }, (_, i) => req(r.ts - T0 + 100 + i * 200, { status: 401, auth: 'refused' }))]
    }
    expect(byId(checkAuth(evidence(after401(HOT_LOOP_AFTER_401))), 'auth/no-hot-loop-after-401').status).toBe('pass')
    const v = byId(checkAuth(evidence(after401(HOT_LOOP_AFTER_401 + 1))), 'auth/no-hot-loop-after-401')
    expect(v.status).toBe('fail')
  })

  it('say why no 401 came: no revocation, a rotation the client followed, or no request after the revocation', () => {
    const skipOf = (setup: Partial<Evidence['setup']>) => byId(checkAuth(evidence([req(0)], { setup })), 'auth/no-hot-loop-after-401')
    expect(skipOf({}).summary).toMatch(/does not revoke the key/)
    const rotated = skipOf({ drills: { rotation: { oldKeyId: 'k_old', newKeyId: 'k_new', rotatedAtMs: T0 + 6000, revokedAtMs: T0 + 11_000, graceMs: 5000 } } })
    expect(rotated.status).toBe('skip')
    expect(rotated.summary).toMatch(/stopped using the old key before it was revoked/)
    expect(rotated.evidence.revokedAtMs).toBe(T0 + 11_000)
    const incident = skipOf({ drills: { incident: { tenantId: 't', revokedAtMs: T0 + 9000, keyIds: [KEY_ID], heartbeatMs: 1000 } } })
    expect(incident.summary).toMatch(/no request after its key was revoked/)
    expect(skipOf({ revokedAtMs: T0 + 50_000 }).summary).toMatch(/no request after its key was revoked/)
  })
})

describe('idempotency checks', () => {
  const post = (start: number, o: Partial<RequestEntry> = {}) => req(start, { method: 'POST', route: CREATE, path: CREATE, status: 201, idempotencyKey: 'idem-1', idempotency: 'new', ...o })

  it('fail a POST without X-Idempotency-Key and skip when there was no POST', () => {
    expect(byId(checkIdempotency(evidence([post(0)])), 'idempotency/keys-on-posts').status).toBe('pass')
    expect(byId(checkIdempotency(evidence([post(0, { idempotencyKey: null, idempotency: 'missing' })])), 'idempotency/keys-on-posts').status).toBe('fail')
    expect(byId(checkIdempotency(evidence([req(0)])), 'idempotency/keys-on-posts').status).toBe('skip')
  })

  it('pass a retry after a lost response that reuses the key and is replayed', () => {
    const r = checkIdempotency(evidence([post(0, { lostResponse: true }), post(500, { idempotency: 'replayed' })]))
    expect(byId(r, 'idempotency/retry-reuses-key').status).toBe('pass')
    expect(byId(r, 'idempotency/no-duplicates').status).toBe('pass')
  })

  it('fail a retry with a new key: it creates a second resource', () => {
    const r = checkIdempotency(evidence([post(0, { lostResponse: true }), post(500, { idempotencyKey: 'idem-2' })]))
    expect(byId(r, 'idempotency/retry-reuses-key').status).toBe('fail')
    expect(byId(r, 'idempotency/no-duplicates').status).toBe('fail')
  })

  it('fail a lost response that was never retried, and skip both when no response was lost', () => {
    expect(byId(checkIdempotency(evidence([post(0, { lostResponse: true })])), 'idempotency/retry-reuses-key').status).toBe('fail')
    const r = checkIdempotency(evidence([post(0)]))
    expect(byId(r, 'idempotency/retry-reuses-key').status).toBe('skip')
    expect(byId(r, 'idempotency/no-duplicates').status).toBe('skip')
  })

  it('does not judge a loss the client had no time to retry: skip when it came under 5 s before the end, fail at 5 s', () => {
    const late = checkIdempotency(evidence([post(0), post(56_000, { lostResponse: true })], { endAt: 60_000 }))
    expect(byId(late, 'idempotency/retry-reuses-key').status).toBe('skip')
    expect(byId(late, 'idempotency/retry-reuses-key').summary).toMatch(/less than 5 s before the run ended/)
    expect(byId(late, 'idempotency/no-duplicates').status).toBe('skip')
    // The same loss with 5 s left is judged; and a late loss that was retried is judged too.
    expect(byId(checkIdempotency(evidence([post(54_990, { lostResponse: true })], { endAt: 60_000 })), 'idempotency/retry-reuses-key').status).toBe('fail')
    const retried = checkIdempotency(evidence([post(58_000, { lostResponse: true }), post(59_000, { idempotencyKey: 'idem-2' })], { endAt: 60_000 }))
    expect(byId(retried, 'idempotency/retry-reuses-key').status).toBe('fail')
    expect(byId(retried, 'idempotency/no-duplicates').status).toBe('fail')
  })

  function consumerSpan (eventId: string, spanId: string): Span {
    return {
      traceId: 'a'.repeat(32), spanId, parentSpanId: undefined, traceState: undefined, flags: 1, name: 'process wallet.created', kind: 'consumer',
      startTimeUnixNano: 1n, endTimeUnixNano: 2n, durationMs: 0, attributes: { 'messaging.message.id': eventId }, events: [], links: [],
      status: { code: 'unset', message: '' }, resource: {}, scope: { name: 'test', version: '', attributes: {} }, droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0
    }
  }

  const frame = (id: number, duplicate = false): FrameEntry => ({ seq: ++seq, type: 'frame', ts: T0 + id, streamId: 'str_1', keyId: KEY_ID, id, event: 'wallet.created', duplicate })

  it('fail an event id processed twice, but not one span exported twice', () => {
    const frames = [frame(7), frame(8), frame(7, true)]
    const once = [consumerSpan('7', '0000000000000001'), consumerSpan('8', '0000000000000002'), consumerSpan('8', '0000000000000002')]
    expect(byId(checkIdempotency(evidence(frames, { spans: once })), 'idempotency/events-once').status).toBe('pass')
    const twice = [...once, consumerSpan('7', '0000000000000003')]
    const v = byId(checkIdempotency(evidence(frames, { spans: twice })), 'idempotency/events-once')
    expect(v.status).toBe('fail')
    expect(v.violations[0]).toMatchObject({ eventId: '7' })
    expect(byId(checkIdempotency(evidence([])), 'idempotency/events-once').status).toBe('skip')
  })
})

describe('secrets/no-leak', () => {
  it('passes clean output and fails the canary in stdout, in a span and in a request URL', async () => {
    const clean = await checkSecrets(evidence([req(0)], { outputs: [{ source: 'stdout', text: '{"msg":"listed wallets","key":"key_AAAAAAAAAAAAAAAA"}\n' }] }))
    expect(clean[0]!.status).toBe('pass')
    const logged = await checkSecrets(evidence([], { outputs: [{ source: 'stdout', text: `{"msg":"starting","apiKey":"${CANARY}"}\n` }] }))
    expect(logged[0]!.status).toBe('fail')
    expect(logged[0]!.violations[0]!.message).not.toContain(CANARY)
    const span = { ...({} as Span), traceId: 'b'.repeat(32), spanId: '1'.repeat(16), name: 'GET', kind: 'client' as const, attributes: { 'url.full': `http://x/api?api_key=${encodeURIComponent(CANARY)}` }, events: [], links: [], resource: {}, status: { code: 'unset' as const, message: '' } }
    expect((await checkSecrets(evidence([], { spans: [span] })))[0]!.status).toBe('fail')
    expect((await checkSecrets(evidence([req(0, { secretInUrl: true })])))[0]!.status).toBe('fail')
  })
})

describe('runChecks', () => {
  it('turns a check that throws into an error verdict instead of a crash', async () => {
    const bad = { ...evidence([]), record: null } as unknown as Evidence
    const e = await runChecks(bad, ['auth'])
    expect(e).toEqual([expect.objectContaining({ id: 'auth/error', status: 'error' })])
  })
})
