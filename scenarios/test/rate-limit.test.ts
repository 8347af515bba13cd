// The rate-limit probe's judge (lib/rate-limit.ts). The observations come from a small fixed-window
// limiter written here as a fixture, with the knobs a broken server has (over-admission, a missing
// header...), so each rule of contract 5 is shown to pass a correct server and fail a broken one.
import { describe, test, expect } from 'vitest'
import { header, judgeAfterWait, judgeBurst, observationFrom, parseRetryAfter } from '../lib/rate-limit.ts'
import type { RlObservation } from '../lib/rate-limit.ts'

interface ServerFlaws {
  /** over-admit fault of contract 7.2: admits limit * (1 + share). */
  share?: number
  noRetryAfter?: boolean
  dateRetryAfter?: boolean
  wrongDetails?: boolean
  stuckRemaining?: boolean
  wrongLimitHeader?: number
}

/** A fixed-window server as contract 5 describes it, answering one request at `nowMs`. */
function createServer (limit: number, windowMs: number, flaws: ServerFlaws = {}) {
  let windowStart = -1
  let used = 0
  const cap = Math.floor(limit * (1 + (flaws.share ?? 0)))
  return function answer (nowMs: number): RlObservation {
    if (windowStart < 0 || nowMs >= windowStart + windowMs) { windowStart = Math.floor(nowMs / windowMs) * windowMs; used = 0 }
    const resetAtMs = windowStart + windowMs
    const reset = Math.ceil(resetAtMs / 1000)
    const headers: Record<string, string> = { 'X-Ratelimit-Limit': String(flaws.wrongLimitHeader ?? limit), 'X-Ratelimit-Reset': String(reset), Date: new Date(nowMs).toUTCString() }
    if (used < cap) {
      used++
      headers['X-Ratelimit-Remaining'] = String(flaws.stuckRemaining === true ? limit - 1 : Math.max(0, limit - used))
      return observationFrom({ status: 200, headers, body: '{"data":[]}' }, nowMs, nowMs + 2)
    }
    const retryAfter = Math.max(1, Math.ceil((resetAtMs - nowMs) / 1000))
    headers['X-Ratelimit-Remaining'] = '0'
    if (flaws.noRetryAfter !== true) headers['Retry-After'] = flaws.dateRetryAfter === true ? new Date(resetAtMs).toUTCString() : String(retryAfter)
    const body = JSON.stringify({ error: { code: 'rate_limited', message: 'slow down', details: [{ field: 'retryAfter', message: String(flaws.wrongDetails === true ? retryAfter + 5 : retryAfter) }] }, meta: {} })
    return observationFrom({ status: 429, headers, body }, nowMs, nowMs + 2)
  }
}

/** Prime with one request, then burst `n` more at `t0` (+1 ms each): what the probe does. */
function probe (limit: number, n: number, flaws: ServerFlaws = {}, t0 = 1_000_005_000, windowMs = 60_000) {
  const server = createServer(limit, windowMs, flaws)
  const prime = server(t0)
  const prior = new Map([[prime.reset!, limit - prime.remaining!]])
  const obs = Array.from({ length: n }, (_v, i) => server(t0 + 10 + i))
  return { prime, obs, verdict: judgeBurst(obs, { limit, prior }), server }
}

describe('judgeBurst', () => {
  test('passes a correct fixed window driven at twice its limit', () => {
    const { verdict } = probe(20, 40)
    expect(verdict).toMatchObject({ admitted: 19, refused: 21, unexpected: 0, overAdmitted: 0, underAdmitted: 0, headerViolations: [], retryAfterViolations: [] })
    expect(verdict.windows).toEqual([expect.objectContaining({ prior: 1, capacity: 19, admitted: 19, expectedAdmitted: 19 })])
    // The window that holds t0 ends 15 s later.
    expect(verdict.retryAfterS).toBe(15)
  })

  test('fails a limiter with the over-admit fault: 20 % more than the limit is counted', () => {
    const { verdict } = probe(20, 40, { share: 0.2 })
    expect(verdict.overAdmitted).toBe(4)
    expect(verdict.headerViolations.join('\n')).toMatch(/repeat an X-RateLimit-Remaining value/)
  })

  test('fails a limiter that admits everything, even with no 429 to wait on', () => {
    const { verdict } = probe(20, 80, { share: 10 })
    expect(verdict.overAdmitted).toBe(61)
    expect(verdict.refused).toBe(0)
    expect(verdict.retryAfterS).toBeUndefined()
  })

  test('counts under-admission when the window refuses while it still has room', () => {
    const { prime, obs } = probe(20, 40)
    const early = obs.map((o, i) => (i === 3 ? { ...o, status: 429, remaining: 0, retryAfter: '15', errorCode: 'rate_limited', detailRetryAfter: '15' } : o))
    const v = judgeBurst(early, { limit: 20, prior: new Map([[prime.reset!, 1]]) })
    expect(v.underAdmitted).toBe(1)
  })

  test('splits a burst that crosses a window boundary and judges each window on its own', () => {
    const { verdict } = probe(20, 40, {}, 1_000_019_986)
    expect(verdict.windows.map((w) => [w.prior, w.sent, w.admitted])).toEqual([[1, 4, 4], [0, 36, 20]])
    expect(verdict.overAdmitted + verdict.underAdmitted).toBe(0)
    expect(verdict.headerViolations).toEqual([])
  })

  test('requires Retry-After in whole seconds on every 429 (contract 5.3)', () => {
    // The primer took 1 of 5: 4 admitted, 6 refused.
    expect(probe(5, 10, { noRetryAfter: true }).verdict.retryAfterViolations).toHaveLength(6)
    expect(probe(5, 10, { dateRetryAfter: true }).verdict.retryAfterViolations[0]).toMatch(/not whole seconds/)
    expect(probe(5, 10, { wrongDetails: true }).verdict.retryAfterViolations[0]).toMatch(/details has no \{field: 'retryAfter'/)
  })

  test('requires X-RateLimit-Remaining to count down and -Limit to be the key limit (contract 5.2)', () => {
    expect(probe(5, 10, { stuckRemaining: true }).verdict.headerViolations.join('\n')).toMatch(/repeat an X-RateLimit-Remaining value/)
    expect(probe(5, 10, { wrongLimitHeader: 50 }).verdict.headerViolations[0]).toMatch(/X-RateLimit-Limit is 50, the key's limit is 5/)
    const { obs } = probe(5, 10)
    const bare = obs.map((o, i) => (i === 0 ? { ...o, reset: undefined } : o))
    expect(judgeBurst(bare, { limit: 5 }).headerViolations[0]).toMatch(/missing or not integers/)
  })

  test('flags a Retry-After that disagrees with X-RateLimit-Reset', () => {
    const { obs } = probe(5, 10)
    const skewed = obs.map((o) => (o.status === 429 ? { ...o, retryAfter: '2', detailRetryAfter: '2' } : o))
    expect(judgeBurst(skewed, { limit: 5 }).retryAfterViolations[0]).toMatch(/disagrees with X-RateLimit-Reset/)
  })

  test('counts answers that are neither 2xx nor 429 apart', () => {
    const { obs } = probe(5, 10)
    expect(judgeBurst([...obs, { ...obs[0]!, status: 503 }], { limit: 5 }).unexpected).toBe(1)
  })
})

describe('after Retry-After', () => {
  test('the request after an honest wait is admitted in a later window', () => {
    const { verdict, server } = probe(20, 40)
    const after = server(1_000_005_000 + 10 + 40 + verdict.retryAfterS! * 1000)
    expect(judgeAfterWait(after, verdict.lastReset)).toEqual([])
  })

  test('a refusal after the wait, or an answer from the same window, is a violation', () => {
    const { obs, verdict } = probe(20, 40)
    expect(judgeAfterWait(obs[39]!, verdict.lastReset)[0]).toMatch(/got 429, not admitted/)
    expect(judgeAfterWait({ ...obs[0]!, status: 200 }, verdict.lastReset)[0]).toMatch(/still in the window/)
  })
})

describe('parsing', () => {
  test('reads headers whatever their case: Go canonicalises X-RateLimit-Limit to X-Ratelimit-Limit', () => {
    expect(header({ 'X-Ratelimit-Limit': '20' }, 'X-RateLimit-Limit')).toBe('20')
    expect(header({ 'retry-after': '3' }, 'Retry-After')).toBe('3')
    expect(header({}, 'Retry-After')).toBeUndefined()
  })

  test('Retry-After is whole seconds of at least 1', () => {
    expect(parseRetryAfter('7')).toBe(7)
    expect(parseRetryAfter(' 7 ')).toBe(7)
    expect(parseRetryAfter('0')).toBeUndefined()
    expect(parseRetryAfter('1.5')).toBeUndefined()
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBeUndefined()
    expect(parseRetryAfter(undefined)).toBeUndefined()
  })

  test('an observation carries the 429 envelope code and the retryAfter detail', () => {
    const o = observationFrom({ status: 429, headers: { 'Retry-After': '4' }, body: '{"error":{"code":"rate_limited","message":"m","details":[{"field":"retryAfter","message":"4"}]}}' }, 1, 2)
    expect(o).toMatchObject({ status: 429, errorCode: 'rate_limited', detailRetryAfter: '4', retryAfter: '4' })
    expect(observationFrom({ status: 429, headers: {}, body: 'not json' }, 1, 2).errorCode).toBeUndefined()
  })
})
