// Rate-limit probe: does the server's limiter keep contract 5? One key is driven at twice its limit:
// each cycle primes the window with one request, fires 2 x limit requests in parallel batches,
// checks that exactly the limit was admitted in the window, that X-RateLimit-* headers are
// consistent, that every 429 carries Retry-After and the rate_limited envelope, then waits exactly
// Retry-After and checks the next request is admitted. The judging is lib/rate-limit.ts.
//
// A contract check for any Tenzro environment: with API_KEY it probes that key (use one nobody else
// is using; the limit is read from X-RateLimit-Limit). With CONTROL_URL and no API_KEY it creates a
// key with RATE_LIMIT requests per window (default 20). It never touches the fault plan, so a mock
// run with an over-admit fault (contract 7.2) fails it: k6 exits 99.
//
// It expects a fixed window (the default, contract 5.4): a cycle lasts until the window resets, so
// PROFILE=smoke (one cycle) takes about one window (60 s on the mock's default).
import { check, sleep } from 'k6'
import { Counter } from 'k6/metrics'
import type { Options } from 'k6/options'
import { countLimit, walletListSpec } from './lib/api.ts'
import type { Credentials } from './lib/api.ts'
import { intFromEnv, readConfig } from './lib/config.ts'
import { send, sendBatch } from './lib/http.ts'
import type { RequestSpec, Response } from './lib/http.ts'
import { SYSTEM_TAGS, TREND_STATS } from './lib/options.ts'
import { judgeAfterWait, judgeBurst, observationFrom, parseRetryAfter } from './lib/rate-limit.ts'
import type { RlObservation } from './lib/rate-limit.ts'
import { abort, acquireCredentials, targetOf } from './lib/setup.ts'
import { summaryOutputs } from './lib/summary.ts'
import type { SummaryData } from './lib/summary.ts'

const cfg = readConfig(__ENV, { profile: 'full', profiles: ['smoke', 'full'] })
const target = targetOf(cfg)
const smoke = cfg.profile === 'smoke'
const CYCLES = intFromEnv(__ENV, 'CYCLES', smoke ? 1 : 3, 1, 100)
const RATE_LIMIT = intFromEnv(__ENV, 'RATE_LIMIT', 20, 1, 100000)
const BATCH = intFromEnv(__ENV, 'BATCH', 10, 1, 200)
const MAX_BURST = intFromEnv(__ENV, 'MAX_BURST', 1000, 2, 100000)

const windowsChecked = new Counter('rl_windows_checked')
/** Requests admitted beyond the limit of their window (contract 5.4). */
const overAdmitted = new Counter('rl_over_admitted')
/** Requests refused although the window still had room (contract 5.4). */
const underAdmitted = new Counter('rl_under_admitted')
const headerViolations = new Counter('rl_header_violations')
const retryAfterViolations = new Counter('rl_retry_after_violations')
/** Requests refused after waiting the Retry-After the server gave (contract 5.3). */
const retryAfterRefused = new Counter('rl_retry_after_refused')

export const options: Options = {
  scenarios: {
    probe: { executor: 'per-vu-iterations', vus: 1, iterations: 1, maxDuration: smoke ? '2m' : `${CYCLES * 2 + 2}m` }
  },
  batch: BATCH,
  batchPerHost: BATCH,
  thresholds: {
    rl_over_admitted: ['count==0'],
    rl_under_admitted: ['count==0'],
    rl_header_violations: ['count==0'],
    rl_retry_after_violations: ['count==0'],
    rl_retry_after_refused: ['count==0'],
    rl_windows_checked: ['count>0'],
    checks: ['rate==1'],
    http_req_failed: ['rate==0']
  },
  systemTags: SYSTEM_TAGS,
  summaryTrendStats: TREND_STATS,
  setupTimeout: '30s'
}

interface SetupData {
  cred: Credentials
  limit: number
}

export function setup (): SetupData {
  const { cred, info, created } = acquireCredentials(cfg, { rateLimit: RATE_LIMIT })
  if (info.limit === undefined) abort('GET /api/keys/validate carried no X-RateLimit-Limit (contract 5.2): the probe cannot learn the key\'s limit.')
  if (created !== undefined && info.limit !== RATE_LIMIT) console.warn(`The key was created with rateLimit ${RATE_LIMIT} but X-RateLimit-Limit says ${info.limit}; probing ${info.limit}.`)
  if (info.limit * 2 > MAX_BURST) abort(`The key's limit is ${info.limit} per window; twice that is over MAX_BURST=${MAX_BURST}. Probe a key with a smaller limit, or raise MAX_BURST.`)
  return { cred, limit: info.limit }
}

function spec (cred: Credentials): RequestSpec {
  return walletListSpec(target, cred, { limit: 1 }, [200, 429])
}

function observe (res: Response, sentAtMs: number): RlObservation {
  countLimit(res)
  return observationFrom({ status: res.status, headers: res.headers, body: typeof res.body === 'string' ? res.body : null }, sentAtMs, Date.now())
}

function one (cred: Credentials): RlObservation {
  const at = Date.now()
  return observe(send(spec(cred)), at)
}

const admitted = (o: RlObservation) => o.status >= 200 && o.status < 300

function report (kind: string, items: string[]): void {
  for (const m of items.slice(0, 5)) console.warn(`${kind}: ${m}`)
  if (items.length > 5) console.warn(`${kind}: ... and ${items.length - 5} more`)
}

/** Wait as the server said, then ask again; counts each refusal after an honest wait. */
function waitAndRetry (cred: Credentials, retryAfterS: number, previousReset: number | undefined): RlObservation {
  sleep(retryAfterS)
  const after = one(cred)
  const problems = judgeAfterWait(after, previousReset)
  if (!admitted(after)) retryAfterRefused.add(1)
  else if (problems.length > 0) headerViolations.add(problems.length)
  report('retry-after', problems)
  check(after, { 'a request after waiting Retry-After is admitted in a new window (contract 5.3)': () => problems.length === 0 })
  return after
}

export default function (data: SetupData): void {
  const { cred, limit } = data
  for (const c of [windowsChecked, overAdmitted, underAdmitted, headerViolations, retryAfterViolations, retryAfterRefused]) c.add(0)

  let prime: RlObservation | undefined
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    // Prime: one request tells how much of the current window is already used.
    if (prime === undefined || !admitted(prime)) prime = one(cred)
    for (let tries = 0; prime.status === 429 && tries < 3; tries++) {
      prime = waitAndRetry(cred, parseRetryAfter(prime.retryAfter) ?? 1, prime.reset)
    }
    if (!admitted(prime) || prime.remaining === undefined || prime.reset === undefined) {
      check(prime, { 'the probe request is admitted with X-RateLimit-Remaining and -Reset (contract 5.2)': () => false })
      abort(`The probe request answered ${prime.status} without usable rate-limit headers; nothing to judge.`)
    }
    const prior = new Map<number, number>([[prime.reset as number, limit - (prime.remaining as number)]])

    // Burst: 2 x limit in parallel batches, and on until the latest window has refused something.
    const obs: RlObservation[] = []
    let verdict = judgeBurst(obs, { limit, prior })
    while ((obs.length < 2 * limit || verdict.retryAfterS === undefined) && obs.length < 4 * limit) {
      const at = Date.now()
      const batch = sendBatch(Array.from({ length: Math.min(BATCH, 4 * limit - obs.length) }, () => spec(cred)))
      for (const res of batch) obs.push(observe(res, at))
      verdict = judgeBurst(obs, { limit, prior })
      if (verdict.unexpected > 0) break
    }

    windowsChecked.add(verdict.windows.length)
    overAdmitted.add(verdict.overAdmitted)
    underAdmitted.add(verdict.underAdmitted)
    headerViolations.add(verdict.headerViolations.length)
    retryAfterViolations.add(verdict.retryAfterViolations.length)
    for (const w of verdict.windows) {
      console.info(`cycle ${cycle}, window ending ${w.reset}: ${w.prior} used before, ${w.sent} sent, ${w.admitted} admitted (expected ${w.expectedAdmitted}), ${w.refused} refused`)
    }
    report('limiter', verdict.windows.filter((w) => w.overAdmitted > 0 || w.underAdmitted > 0).map((w) => `window ending ${w.reset} admitted ${w.admitted} with room for ${w.capacity} (contract 5.4)`))
    report('headers', verdict.headerViolations)
    report('429', verdict.retryAfterViolations)
    check(verdict, {
      'every probe request is answered 2xx or 429': (v) => v.unexpected === 0,
      'the limiter admits exactly the limit per window (contract 5.4)': (v) => v.overAdmitted === 0 && v.underAdmitted === 0 && v.windows.length > 0,
      'X-RateLimit-Limit/Remaining/Reset are consistent on every answer (contract 5.2)': (v) => v.headerViolations.length === 0,
      'every 429 carries Retry-After in seconds and the rate_limited envelope (contract 5.3)': (v) => v.refused > 0 && v.retryAfterViolations.length === 0
    })
    if (verdict.retryAfterS === undefined) {
      check(verdict, { 'driving the key at twice its limit gets a 429 that says how long to wait (contract 5.3)': () => false })
      prime = undefined
      continue
    }
    // Wait exactly what the server said; the answer primes the next cycle.
    prime = waitAndRetry(cred, verdict.retryAfterS, verdict.lastReset)
  }
}

export function handleSummary (data: SummaryData): Record<string, string> {
  return summaryOutputs('rate-limit-probe', data, { declared: options.thresholds, profile: cfg.profile, dir: cfg.summaryDir, generatedAt: new Date().toISOString() })
}
