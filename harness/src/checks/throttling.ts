// Throttling verdicts (seed: "Rate Limiting"; contract 5.3, 7.2): Retry-After is honoured, 429s do
// not come in storms, retries of server errors back off exponentially with jitter, and stop.
import { requestsOf, startOf, type Evidence, type RequestEntry } from '../evidence.ts'
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
 * Smallest gap over median gap at each attempt index (pooled): above this the waits cluster at one
 * value with only lag on top, which is no jitter. Full jitter over 5-7 samples per index stays
 * below it but for about 1 run in 1000 or fewer (seeded simulations in the unit tests).
 */
export const JITTER_FLOOR_RATIO = 0.8
/** Fewer gaps than this at attempt indices with >= 3 samples leave jitter unjudged: a few draws of full jitter can sit together by chance. */
export const JITTER_MIN_GAPS = 12

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
      early.push({ message: `request ${Math.round(until - startOf(next))} ms before Retry-After (${ra} s) elapsed after a ${r.status} on ${r.route ?? r.path}`, at: startOf(next), requestId: next.requestId, waitedMs: Math.round(startOf(next) - r.ts), retryAfterS: ra })
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
  for (const c of chains) {
    for (let i = 1; i < c.length; i++) {
      if (heldBack(c[i - 1]!, c[i]!)) continue
      const gap = startOf(c[i]!) - c[i - 1]!.ts
      ;(gapsByAttempt[i - 1] ??= []).push(gap)
    }
  }
  gapsByAttempt = Array.from(gapsByAttempt, (g) => g ?? [])
  const allGaps = gapsByAttempt.flat()
  if (allGaps.length === 0) {
    out.push(skip('throttling/backoff', 'Backoff between retries of 5xx grows and is jittered', chains.length === 0 ? 'the client retried no 5xx' : 'every retry of a 5xx waited for a Retry-After'))
  } else {
    const v: Violation[] = []
    const firstGaps = gapsByAttempt[0] ?? []
    const laterGaps = gapsByAttempt.slice(2).flat()
    // A loaded machine only ever adds delay to a gap (a late timer, a stalled event loop, a slow
    // write), and to a minority of gaps unless the whole run is starved. The jitter verdict rests on
    // order statistics such lag cannot forge (the smallest gap at each attempt, and medians).
    // Growth is judged on the upper envelope: full jitter draws from [0, cap) and the cap is what
    // grows, so a median or quartile of a few draws can shrink by chance (alone, either failed a few
    // seeded good clients in 1000 with no lag at all); the second-largest gap (one late timer is not
    // growth) cannot, by much.
    const m1 = upper(firstGaps)
    const mLater = upper(laterGaps)
    // Two stalled gaps at the first retry lift its upper envelope; its median they do not.
    const grows = mLater > GROWTH_RATIO * m1 || median(laterGaps) > GROWTH_RATIO * median(firstGaps)
    const med = median(allGaps)
    if (med < AT_ONCE_MS) v.push({ message: `retries of 5xx follow at once (median gap ${Math.round(med)} ms over ${allGaps.length} gaps)` })
    else if (laterGaps.length >= 2 && firstGaps.length >= 2 && !grows) v.push({ message: `backoff does not grow: the longest gaps (second-largest) are ${Math.round(m1)} ms at the first retry and ${Math.round(mLater)} ms from the third on, the medians ${Math.round(median(firstGaps))} ms and ${Math.round(median(laterGaps))} ms` })
    // Jitter: at each attempt index with >= 3 samples, a jittered client's gaps spread over [0, cap),
    // so its smallest gap lies far below its median; a client without jitter waits the cap every time
    // and lag only lifts gaps above it, so its smallest gap is at the cap, next to its median. The
    // ratio is pooled over indices (summed smallest over summed medians) so the long waits, where
    // lag matters least, weigh most, and one stalled index decides nothing.
    const sampled = gapsByAttempt.filter((g) => g.length >= 3)
    const floorRatio = sampled.flat().length < JITTER_MIN_GAPS ? null : sampled.reduce((a, g) => a + Math.min(...g), 0) / Math.max(sampled.reduce((a, g) => a + median(g), 0), 1)
    if (floorRatio !== null && med >= AT_ONCE_MS && floorRatio > JITTER_FLOOR_RATIO) v.push({ message: `backoff is not jittered: retries at the same attempt wait the same (the smallest gap is ${Math.round(floorRatio * 100)} % of the median, pooled over ${sampled.length} attempt indices; smallest ${sampled.map((g) => Math.round(Math.min(...g))).join(', ')} ms against medians ${sampled.map((g) => Math.round(median(g))).join(', ')} ms)` })
    out.push(verdict('throttling/backoff', 'Backoff between retries of 5xx grows and is jittered', v,
      { chains: chains.length, meanGapMsByAttempt: gapsByAttempt.map((g) => stat(g, mean)), medianGapMsByAttempt: gapsByAttempt.map((g) => stat(g, median)), minGapMsByAttempt: gapsByAttempt.map((g) => stat(g, (x) => Math.min(...x))), samplesByAttempt: gapsByAttempt.map((g) => g.length), medianGapMs: Math.round(med), smallestToMedian: floorRatio === null ? null : Math.round(floorRatio * 100) / 100 },
      `${chains.length} retry chains; mean gaps by attempt ${gapsByAttempt.map((g) => stat(g, mean) ?? '-').join(' → ')} ms` +
        (floorRatio === null ? `; jitter not judged (fewer than ${JITTER_MIN_GAPS} gaps at attempts retried 3 times or more)` : `; smallest gap ${Math.round(floorRatio * 100)} % of the median`)))
  }

  // Retries are capped: no chain of failures longer than maxRetries + 1 attempts.
  const failing = retryChains(reqs, (r) => r.status >= 500 || r.status === 429)
  const failed = (c: RequestEntry[]) => c.filter((r) => r.status >= 500 || r.status === 429).length
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
    return (end.status >= 500 || end.status === 429) && last > end.ts
  })
  out.push(failing.length === 0
    ? skip('throttling/retry-cap', 'Retries are capped', 'the client retried nothing')
    : capV.length === 0 && gaveUp.length === 0
      ? skip('throttling/retry-cap', 'Retries are capped', `every failing request ended in a success (at most ${longest} failed attempts in a row): no failure outlasted the client's retries`, { chains: failing.length, longestFailingRun: longest })
    : verdict('throttling/retry-cap', 'Retries are capped', capV, { chains: failing.length, gaveUp: gaveUp.length, longestFailingRun: longest, maxRetries: e.setup.maxRetries }, `longest run of failed attempts ${longest} (cap ${e.setup.maxRetries} retries)`))
  return out
}
