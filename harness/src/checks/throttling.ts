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
/** Gaps at one attempt index that differ by less than this are timer noise, not jitter. */
export const JITTER_NOISE_MS = 30

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

/** max - min, without the sample farthest from the median once there are at least 4. */
function trimmedRange (xs: number[]): number {
  let s = [...xs].sort((a, b) => a - b)
  if (s.length >= 4) {
    const m = median(s)
    s = m - s[0]! > s[s.length - 1]! - m ? s.slice(1) : s.slice(0, -1)
  }
  return s[s.length - 1]! - s[0]!
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
    // Growth is judged on the upper envelope: full jitter draws from [0, cap) and the cap is what
    // grows, so a mean or median of a few draws can shrink by chance; the second-largest gap (one
    // late timer is not growth) cannot, by much.
    const m1 = upper(firstGaps)
    const mLater = upper(laterGaps)
    const med = median(allGaps)
    if (med < AT_ONCE_MS) v.push({ message: `retries of 5xx follow at once (median gap ${Math.round(med)} ms over ${allGaps.length} gaps)` })
    else if (laterGaps.length >= 2 && firstGaps.length >= 2 && !(mLater > 1.5 * m1)) v.push({ message: `backoff does not grow: the longest gaps (second-largest) are ${Math.round(m1)} ms at the first retry and ${Math.round(mLater)} ms from the third on` })
    // Jitter: at attempt indices with >= 3 samples, the gaps must spread by more than 10 % of their mean
    // and more than timer noise; at half of those indices at least. One late timer (a busy event loop
    // on either side) stretches one gap: from 4 samples on, the one farthest from the median is left
    // out of the spread, and one noisy index decides nothing.
    const sampled = gapsByAttempt.filter((g) => g.length >= 3)
    const spreads = sampled.map((g) => { const ms = trimmedRange(g); return { rel: ms / Math.max(mean(g), 1), ms, mean: mean(g) } })
    const jittered = spreads.filter((s) => s.ms > Math.max(0.1 * s.mean, JITTER_NOISE_MS)).length
    if (spreads.length > 0 && med >= AT_ONCE_MS && jittered * 2 < spreads.length) v.push({ message: `backoff is not jittered: retries at the same attempt wait the same (spread ${spreads.map((s) => `${Math.round(s.ms)} ms/${Math.round(s.rel * 100)}%`).join(', ')} by attempt)` })
    out.push(verdict('throttling/backoff', 'Backoff between retries of 5xx grows and is jittered', v,
      { chains: chains.length, meanGapMsByAttempt: gapsByAttempt.map((g) => stat(g, mean)), spreadMsByAttempt: gapsByAttempt.map((g) => stat(g, trimmedRange)), samplesByAttempt: gapsByAttempt.map((g) => g.length), medianGapMs: Math.round(med) },
      `${chains.length} retry chains; mean gaps by attempt ${gapsByAttempt.map((g) => stat(g, mean) ?? '-').join(' → ')} ms`))
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
