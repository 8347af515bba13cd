// How often throttling/backoff's jitter verdict is wrong by chance alone: the real check
// (harness/src/checks/throttling.ts) on seeded simulated clients, on a fake clock, for the sample
// layouts a run delivers. The figures quoted at JITTER_MIN_SPREAD come from here.
//
//   node bench/jitter-sim.ts [runs per cell = 50000] [seed = 1]
//
// Layouts: `fewest` (waits 4, 4, 3, 3 at four attempts: the least the check judges) and `quick` (6 at
// each of four attempts, what the quick profile gives a client that retries 4 times). Schemes: full
// jitter, equal jitter (half fixed, half random), +-20 % and +-15 % around the wait, and none. Lag: an
// exponential scheduling delay of mean 3 ms on every wait, which the harness's lag probe sees.
// Prints, per cell, the share of runs the check failed (wrong for a jittered scheme) and passed (wrong
// for none).
import { checkThrottling } from '../harness/src/checks/throttling.ts'
import type { Evidence, RequestEntry } from '../harness/src/evidence.ts'

const RUNS = Number(process.argv[2] ?? 50_000)
let seed = Number(process.argv[3] ?? 1)
function random (): number {
  if (process.env.JITTER_SIM_MATH_RANDOM === "1") return Math.random()
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const T0 = 1_800_000_000_000
const LIST = '/api/wallet/list'
let n = 0
function req (startMs: number, status: number, chain: number): RequestEntry {
  n++
  return {
    seq: n, type: 'request', ts: T0 + startMs + 2, requestId: `sim-${chain}`, clientRequestId: true, method: 'GET', route: LIST, path: LIST,
    status, durationMs: 2, tenant: 't', keyId: 'k', auth: 'ok', code: status === 500 ? 'internal_error' : null, rateLimit: null,
    idempotencyKey: null, idempotency: null, faults: null, lostResponse: false, retryAfterS: null
  } as unknown as RequestEntry
}

const cap = (i: number) => Math.min(6000, 300 * 2 ** i)
const SCHEMES: Record<string, (i: number) => number> = {
  full: (i) => random() * cap(i),
  equal: (i) => cap(i) * (0.5 + random() / 2),
  '+-20 %': (i) => cap(i) * (0.8 + random() * 0.4),
  '+-15 %': (i) => cap(i) * (0.85 + random() * 0.3),
  none: (i) => cap(i)
}
/** Failures per chain; every chain but the last of `fewest` ends in a success. */
const LAYOUTS: Record<string, number[]> = { fewest: [4, 4, 4, 2], quick: [4, 4, 4, 4, 4, 4] }

function simulate (gapAt: (i: number) => number, chains: number[]): Evidence {
  const record: RequestEntry[] = []
  const samples: Array<[number, number]> = []
  chains.forEach((failures, c) => {
    let t = c * 100_000
    for (let i = 0; i < failures; i++) {
      const r = req(t, 500, c)
      record.push(r)
      const late = -Math.log(1 - random()) * 3
      t = r.ts - T0 + gapAt(i) + late
      if (late >= 1) samples.push([T0 + t, Math.round(late)])
    }
    record.push(req(t, 200, c))
  })
  return { record, keyIds: ['k'], canaries: [], outputs: [], scanDirs: [], spans: [], setup: { retryMs: 1000, heartbeatMs: 1000, stallDetectMs: 5000, toleranceMs: 50, maxRetries: 5, endMs: T0 + 10_000_000, lag: { intervalMs: 20, samples } } }
}

const started = Date.now()
for (const [layout, chains] of Object.entries(LAYOUTS)) {
  for (const [scheme, gapAt] of Object.entries(SCHEMES)) {
    const counts = { pass: 0, fail: 0, skip: 0 }
    for (let r = 0; r < RUNS; r++) {
      const v = checkThrottling(simulate(gapAt, chains)).find((c) => c.id === 'throttling/backoff')!
      counts[v.status as 'pass' | 'fail' | 'skip']++
      if (process.env.JITTER_SIM_SHOW === '1' && v.status !== (scheme === 'none' ? 'fail' : 'pass')) process.stdout.write(`  ${layout} ${scheme} ${v.status}: ${v.violations[0]?.message ?? v.summary} ${JSON.stringify(v.evidence.medianGapMsByAttempt)} ${JSON.stringify(v.evidence.samplesByAttempt)}\n`)
    }
    const share = (k: number) => `${(100 * k / RUNS).toFixed(4)} %`
    process.stdout.write(`${layout.padEnd(7)} ${scheme.padEnd(7)} fail ${share(counts.fail).padStart(11)}  pass ${share(counts.pass).padStart(11)}  skip ${share(counts.skip).padStart(11)}\n`)
  }
}
process.stdout.write(`${RUNS} runs per cell, ${Math.round((Date.now() - started) / 1000)} s\n`)
