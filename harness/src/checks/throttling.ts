// Throttling verdicts (seed: "Rate Limiting"; contract 5.3, 7.2): Retry-After is honoured, 429s do
// not come in storms, retries of server errors back off exponentially with jitter, and stop.
import { requestsOf, startOf, type Evidence, type RequestEntry } from '../evidence.ts'
import { worstLagWithin } from '../lag.ts'
import { skip, verdict, type CheckResult, type Violation } from './types.ts'

export const STORM_429_PER_S = 5
/**
 * Slack for another logical request already under way when a 429/503 reached the client: its task
 * may have sent it before the client's event loop got to the answer, which on a busy machine takes
 * up to a second. Retries of the same request (and requests the client did not name) get no grace.
 */
export const CONCURRENT_GRACE_MS = 1000
/** A median gap below this between retries of a 5xx is no backoff at all. */
export const AT_ONCE_MS = 30
/** Gaps from the third retry on over first-retry gaps (second-largest, or median): less in both is no growth. */
export const GROWTH_RATIO = 1.5
/**
 * Jitter, measured at each attempt index retried JITTER_MIN_SAMPLES times or more as the spread of its
 * waits, (median - smallest) / median, averaged over the indices: without jitter the waits at one
 * attempt sit at one value with only lag on top (spread well under 1 % on a quiet machine), with
 * jitter they spread over a share of the wait. Below JITTER_MIN_SPREAD the backoff fails as not
 * jittered. `node bench/jitter-sim.ts 50000` (this check on seeded simulated clients, 3 ms mean lag):
 * at the fewest waits judged (4, 4, 3 and 3 at four attempts) a jittered client fails by chance in
 * 0 of 50,000 runs with equal jitter (half fixed, half random), 13 with +-20 %, 48 with +-15 %, and
 * 48 with full jitter (all of those on growth: its few draws at the third and fourth retries all sat
 * low); with 6 waits at each attempt (what `quick` gives a client retrying 4 times), 0 for every
 * scheme. A client without jitter never passed.
 */
export const JITTER_MIN_SPREAD = 0.02
/** Waits an attempt index needs before its spread counts. */
export const JITTER_MIN_SAMPLES = 3
/** Attempt indices with JITTER_MIN_SAMPLES waits that jitter needs before it is judged... */
export const JITTER_MIN_INDICES = 3
/** ...holding this many waits between them. */
export const JITTER_MIN_GAPS = 14

/** Attempts of one logical request: same key, method and route (and request id when the client chose one). */
export function retryChains (reqs: RequestEntry[], isFailure: (r: RequestEntry) => boolean): RequestEntry[][] {
  const chains: RequestEntry[][] = []
  const open = new Map<string, RequestEntry[]>()
  for (const r of [...reqs].sort((a, b) => startOf(a) - startOf(b))) {
    const k = `${r.keyId} ${r.method} ${r.route ?? r.path}` + (r.clientRequestId === true ? ` ${r.requestId}` : '')
    const chain = open.get(k)
    if (chain !== undefined && startOf(r) >= chain[chain.length - 1]!.ts) {
      chain.push(r)
    } else if (chain !== undefined) {
      // Overlapping request on the same route without a request id: a concurrent logical request.
      continue
    } else if (isFailure(r)) {
      open.set(k, [r])
      continue
    } else {
      continue
    }
    if (!isFailure(r)) { chains.push(chain); open.delete(k) }
  }
  for (const c of open.values()) chains.push(c)
  return chains.filter((c) => c.length > 1)
}

const is5xxNoRetryAfter = (r: RequestEntry) => (r.status === 500 || r.status === 502 || r.status === 504) && (r.retryAfterS ?? null) === null

function mean (xs: number[]): number { return xs.reduce((a, b) => a + b, 0) / xs.length }

/** The second-largest sample from 3 samples on, else the largest. */
function upper (xs: number[]): number {
  const s = [...xs].sort((a, b) => b - a)
  return s.length >= 3 ? s[1]! : s[0] ?? Number.NaN
}

function pct (x: number): string { return (Math.round(x * 1000) / 10).toString() }
function round2 (x: number): number { return Math.round(x * 1000) / 1000 }

function stat (xs: number[], f: (xs: number[]) => number): number | null {
  return xs.length === 0 ? null : Math.round(f(xs))
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export function checkThrottling (e: Evidence): CheckResult[] {
  const reqs = requestsOf(e).sort((a, b) => startOf(a) - startOf(b))
  const tol = e.setup.toleranceMs
  const out: CheckResult[] = []

  // Retry-After: no request on the key (429) or on the route (503) before it elapsed.
  const early: Violation[] = []
  let told = 0
  for (const r of reqs) {
    const ra = r.retryAfterS ?? r.rateLimit?.retryAfterS ?? 0
    if (!(r.status === 429 || r.status === 503) || ra <= 0) continue
    told++
    // From the earliest moment the answer can have left: the record is stamped when the mock has
    // finished with the response, which on a loaded machine can be well after the bytes went out.
    const until = startOf(r) + ra * 1000
    // Requests that started within the tolerance after the answer was written were already on their way.
    // A different logical request (both named by the client's X-Request-Id, and the names differ) may
    // have been sent by another task before the answer reached the client: it gets CONCURRENT_GRACE_MS
    // more. Retries of the same request, and requests the client did not name, get only the tolerance.
    const next = reqs.find((x) => {
      if (x.keyId !== r.keyId || !(r.status === 429 || x.route === r.route) || startOf(x) >= until - tol) return false
      const concurrent = x.clientRequestId === true && r.clientRequestId === true && x.requestId !== r.requestId
      return startOf(x) > r.ts + tol + (concurrent ? CONCURRENT_GRACE_MS : 0)
    })
    if (next !== undefined) {
      const where = (x: RequestEntry) => `${x.method} ${x.route ?? x.path}`
      // A 429 is about the key (every request of the key counts against its limit, API 5.1), a 503
      // about its route: say so when the early request went elsewhere, where a client that waits per
      // route would not look.
      const why = r.status === 429 && where(next) !== where(r) ? ': a 429 applies to every request of the key (API 5.1, 5.3)' : ''
      early.push({ message: `${where(next)} sent ${Math.round(startOf(next) - r.ts)} ms after a ${r.status} (Retry-After: ${ra} s) on ${where(r)}, ${Math.round(until - startOf(next))} ms too early${why}`, at: startOf(next), requestId: next.requestId, route: next.route ?? next.path, waitedMs: Math.round(startOf(next) - r.ts), retryAfterS: ra })
    }
  }
  out.push(told === 0
    ? skip('throttling/retry-after', 'No request before Retry-After elapsed', 'the client was never told to wait (no 429/503 with Retry-After)')
    : verdict('throttling/retry-after', 'No request before Retry-After elapsed', early, { toldToWait: told, toleranceMs: tol }, `${told} Retry-After answers, each honoured (tolerance ${tol} ms)`))

  // 429 storms: many 429s within one second.
  const r429 = reqs.filter((r) => r.status === 429)
  const storms: Violation[] = []
  let worst = 0
  for (let i = 0, j = 0; i < r429.length; i++) {
    while (r429[i]!.ts - r429[j]!.ts > 1000) j++
    const n = i - j + 1
    if (n > worst) worst = n
    if (n === STORM_429_PER_S + 1) storms.push({ message: `${n} 429 answers within 1 s`, at: r429[i]!.ts, requestId: r429[i]!.requestId })
  }
  out.push(r429.length === 0
    ? skip('throttling/no-429-storm', 'No 429 storm', 'no 429 was answered to the client')
    : verdict('throttling/no-429-storm', 'No 429 storm', storms, { total429: r429.length, max429Per1s: worst, limitPer1s: STORM_429_PER_S }, `${r429.length} 429s, at most ${worst} in any second`))

  // Backoff on 5xx without Retry-After: grows and is jittered.
  const chains = retryChains(reqs, is5xxNoRetryAfter)
  // A retry held back by a Retry-After that the server gave meanwhile (a 429 on the key, a 503 on the
  // route, to this request or another) waited for the server, not for the client's backoff: that gap
  // says nothing about the backoff and is left out.
  const waits = reqs.filter((r) => (r.status === 429 || r.status === 503) && (r.retryAfterS ?? r.rateLimit?.retryAfterS ?? 0) > 0)
  const heldBack = (prev: RequestEntry, next: RequestEntry) => waits.some((w) => w.keyId === next.keyId && (w.status === 429 || w.route === next.route) &&
    w.ts <= startOf(next) && w.ts + (w.retryAfterS ?? w.rateLimit?.retryAfterS ?? 0) * 1000 >= prev.ts)
  let gapsByAttempt: number[][] = []
  // The worst timer lateness the harness saw during each gap: the share of its length that lag may explain.
  let lagByAttempt: number[][] = []
  for (const c of chains) {
    for (let i = 1; i < c.length; i++) {
      if (heldBack(c[i - 1]!, c[i]!)) continue
      const gap = startOf(c[i]!) - c[i - 1]!.ts
      ;(gapsByAttempt[i - 1] ??= []).push(gap)
      ;(lagByAttempt[i - 1] ??= []).push(worstLagWithin(e.setup.lag, c[i - 1]!.ts, startOf(c[i]!)))
    }
  }
  gapsByAttempt = Array.from(gapsByAttempt, (g) => g ?? [])
  lagByAttempt = Array.from(lagByAttempt, (g) => g ?? [])
  const allGaps = gapsByAttempt.flat()
  const title = 'Backoff between retries of 5xx grows and is jittered'
  if (allGaps.length === 0) {
    out.push(skip('throttling/backoff', title, chains.length === 0 ? 'the client retried no 5xx' : 'every retry of a 5xx waited for a Retry-After'))
  } else {
    const v: Violation[] = []
    // A loaded machine only ever adds delay to a gap (a late timer, a stalled event loop, a slow
    // write), and to a minority of gaps unless the whole run is starved. Growth is judged on the gaps
    // less the lag the harness saw during each (a stall is not growth).
    const lessLag = gapsByAttempt.map((g, i) => g.map((x, j) => Math.max(0, x - lagByAttempt[i]![j]!)))
    const firstGaps = lessLag[0] ?? []
    const laterGaps = lessLag.slice(2).flat()
    // Growth is judged on the upper envelope: full jitter draws from [0, cap) and the cap is what
    // grows, so a median or quartile of a few draws can shrink by chance (alone, either failed a few
    // seeded good clients in 1000 with no lag at all); the second-largest gap (one late timer is not
    // growth) cannot, by much.
    const m1 = upper(firstGaps)
    const mLater = upper(laterGaps)
    // Two stalled gaps at the first retry lift its upper envelope; its median they do not.
    const grows = mLater > GROWTH_RATIO * m1 || median(laterGaps) > GROWTH_RATIO * median(firstGaps)
    // As with growth, lag the harness saw is no wait of the client's.
    const med = median(lessLag.flat())
    const growthJudged = laterGaps.length >= 2 && firstGaps.length >= 2
    if (med < AT_ONCE_MS) v.push({ message: `retries of 5xx follow at once (median gap ${Math.round(med)} ms over ${allGaps.length} gaps)` })
    else if (growthJudged && !grows) v.push({ message: `backoff does not grow: the longest gaps (second-largest) are ${Math.round(m1)} ms at the first retry and ${Math.round(mLater)} ms from the third on, the medians ${Math.round(median(firstGaps))} ms and ${Math.round(median(laterGaps))} ms` })
    // Jitter: the spread of the waits at each attempt index, (median - smallest) / median. Lag only
    // lengthens waits, so it can lend spread to a client without jitter but hardly take it from one
    // with jitter: below JITTER_MIN_SPREAD the backoff is not jittered whatever the lag. Above it, the
    // spread counts as jitter only once the lag the harness saw during those waits is taken off it:
    // waits of one value c plus lags l spread by median(l) - min(l), so the median of the lags seen at
    // that index is what lag can lend (a stall of a minority of waits moves it little). When lag
    // could explain the spread, the machine was too busy to tell, and the check says so (skip).
    const indices = gapsByAttempt.map((g, i) => ({ i, g, lag: median(lagByAttempt[i]!) })).filter((x) => x.g.length >= JITTER_MIN_SAMPLES)
    const judged = indices.length >= JITTER_MIN_INDICES && indices.reduce((a, x) => a + x.g.length, 0) >= JITTER_MIN_GAPS
    const spreadOf = (g: number[], credit: number) => { const m = median(g); return m <= 0 ? 0 : Math.max(0, m - Math.min(...g) - credit) / m }
    const spread = judged ? mean(indices.map((x) => spreadOf(x.g, 0))) : null
    const spreadBeyondLag = judged ? mean(indices.map((x) => spreadOf(x.g, x.lag))) : null
    const worstLag = judged ? Math.round(Math.max(...indices.map((x) => x.lag))) : null
    const detail = () => `smallest ${indices.map((x) => Math.round(Math.min(...x.g))).join(', ')} ms against medians ${indices.map((x) => Math.round(median(x.g))).join(', ')} ms at attempts ${indices.map((x) => x.i + 1).join(', ')}`
    if (spread !== null && med >= AT_ONCE_MS && spread < JITTER_MIN_SPREAD) v.push({ message: `backoff is not jittered: retries at the same attempt wait the same (their waits spread ${pct(spread)} % around the median, under ${pct(JITTER_MIN_SPREAD)} %; ${detail()})` })
    const evidence = { chains: chains.length, meanGapMsByAttempt: gapsByAttempt.map((g) => stat(g, mean)), medianGapMsByAttempt: gapsByAttempt.map((g) => stat(g, median)), minGapMsByAttempt: gapsByAttempt.map((g) => stat(g, (x) => Math.min(...x))), samplesByAttempt: gapsByAttempt.map((g) => g.length), medianGapMs: Math.round(med), jitterSpread: spread === null ? null : round2(spread), jitterSpreadBeyondLag: spreadBeyondLag === null ? null : round2(spreadBeyondLag), medianLagMsAtWorstAttempt: worstLag, lagProbe: e.setup.lag === undefined ? 'off' : 'on' }
    const gaps = `${chains.length} retry chains; mean gaps by attempt ${gapsByAttempt.map((g) => stat(g, mean) ?? '-').join(' → ')} ms`
    if (v.length === 0 && spread === null) {
      // Growth alone is half the claim: without enough waits to judge jitter the check was not exercised.
      out.push(skip('throttling/backoff', title, `${gaps}; ${growthJudged ? 'grows, but ' : ''}jitter was not judged: it needs ${JITTER_MIN_GAPS} waits at ${JITTER_MIN_INDICES} attempts retried ${JITTER_MIN_SAMPLES} times or more (had ${gapsByAttempt.map((g) => g.length).join(', ')} waits by attempt)`, evidence))
    } else if (v.length === 0 && spread !== null && spreadBeyondLag! < JITTER_MIN_SPREAD) {
      out.push(skip('throttling/backoff', title, `${gaps}; ${growthJudged ? 'grows, but ' : ''}jitter cannot be told from lag: the waits spread ${pct(spread)} % around the median, and the harness's timers ran late by a median of up to ${worstLag} ms during them (${pct(spreadBeyondLag!)} % beyond that lag, under ${pct(JITTER_MIN_SPREAD)} %); run again on a less busy machine`, evidence))
    } else {
      out.push(verdict('throttling/backoff', title, v, evidence,
        gaps + (spread === null ? '; jitter not judged (too few waits)' : `; waits at one attempt spread ${pct(spread)} % around the median`)))
    }
  }

  // Retries are capped: no chain of failures longer than maxRetries + 1 attempts.
  // Failures the client must stop retrying at some point: 5xx and 429 that did not say when to come
  // back. One with Retry-After tells the client when to try again: retrying after it, however often,
  // is following the server (throttling/retry-after judges that), and a neighbour on the same key
  // makes such runs as long as it likes, so they would decide this check by chance.
  const uncapped = (r: RequestEntry) => (r.status >= 500 || r.status === 429) && (r.retryAfterS ?? r.rateLimit?.retryAfterS ?? 0) <= 0
  const failing = retryChains(reqs, uncapped)
  const failed = (c: RequestEntry[]) => c.filter(uncapped).length
  const longest = failing.reduce((m, c) => Math.max(m, failed(c)), 0)
  const capV: Violation[] = failing
    .filter((c) => failed(c) > e.setup.maxRetries + 1)
    .map((c) => ({ message: `${failed(c)} failed attempts of ${c[0]!.method} ${c[0]!.route ?? c[0]!.path} in a row (cap ${e.setup.maxRetries} retries, so at most ${e.setup.maxRetries + 1} attempts)`, at: startOf(c[0]!), requestId: c[0]!.requestId }))
  // Exercised only when a failure outlasted the client's patience: a chain past the cap, or one it
  // gave up on (its last attempt failed and the client went on to other requests). A client whose
  // every retry chain ended in a success never showed whether it stops.
  const last = reqs.length === 0 ? 0 : startOf(reqs[reqs.length - 1]!)
  const gaveUp = failing.filter((c) => {
    const end = c[c.length - 1]!
    return uncapped(end) && last > end.ts
  })
  out.push(failing.length === 0
    ? skip('throttling/retry-cap', 'Retries are capped', 'the client retried nothing')
    : capV.length === 0 && gaveUp.length === 0
      ? skip('throttling/retry-cap', 'Retries are capped', `every failing request ended in a success (at most ${longest} failed attempts in a row): no failure outlasted the client's retries`, { chains: failing.length, longestFailingRun: longest })
    : verdict('throttling/retry-cap', 'Retries are capped', capV, { chains: failing.length, gaveUp: gaveUp.length, longestFailingRun: longest, maxRetries: e.setup.maxRetries }, `longest run of failed attempts ${longest} (cap ${e.setup.maxRetries} retries)`))
  return out
}
