// Acceptance test of the verdicts: `tenzro-harness verify` (the CLI's main(), real mock on
// 127.0.0.1:0, real client processes) on every example client in examples/clients, under both
// `default` (the contract's own timings) and `quick`. Each bad example fails exactly the checks of its
// one bad habit and no other; the good ones, including the slow but correct ones (2 s of reconnect
// jitter, 100 ms per event, a poll every 2 s), pass, and every fault of the profile reaches them.
// All runs go VERDICTS_CONCURRENCY (default 12) at a time, default first: about four minutes in all.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { listExamples, pool, summarise, verifyExample, type ExampleRun } from '../../bench/verdicts.ts'
import { CATALOG } from '../src/checks/catalog.ts'
import { DRILL_CATALOG } from '../src/checks/drill-catalog.ts'
import { PROFILES } from '../src/profiles.ts'

type Expected = Record<string, { fail: string[], skip?: string[] }>

/** Clients that must pass and meet every fault of the profile. */
const GOOD = ['good', 'good-fetch', 'slow-reconnect-jitter', 'slow-consumer', 'polls-rarely']

/**
 * Expected verdicts under both profiles: the checks each example must fail, and the checks that
 * cannot be judged for it (skip). Every other check must pass. Why the skips:
 * - ignores-gaps runs no list loop (a client that re-lists every 200 ms is resynchronised whether it
 *   means to be or not), so it meets none of the list faults: no 429, no 5xx to back off from.
 * - no-last-event-id never resumes, and duplicates and gaps act on resumes only.
 */
const BOTH: Expected = {
  good: { fail: [] },
  'good-fetch': { fail: [] },
  'slow-reconnect-jitter': { fail: [] },
  'slow-consumer': { fail: [] },
  'polls-rarely': { fail: [] },
  'leaks-key-in-logs': { fail: ['secrets/no-leak'] },
  'key-in-url': { fail: ['auth/key-in-header', 'secrets/no-leak'] },
  'ignores-retry-after': { fail: ['throttling/retry-after'] },
  'no-backoff': { fail: ['throttling/backoff'] },
  'fixed-backoff': { fail: ['throttling/backoff'] },
  'no-jitter': { fail: ['throttling/backoff'] },
  'retries-forever': { fail: ['throttling/retry-cap'] },
  'no-last-event-id': { fail: ['reconnection/last-event-id'], skip: ['idempotency/events-once', 'reconnection/gap-resync'] },
  'reconnects-immediately': { fail: ['reconnection/respects-retry'] },
  'ignores-retry-field': { fail: ['reconnection/respects-retry'] },
  'no-stall-detection': { fail: ['reconnection/stall-detected'] },
  'ignores-gaps': { fail: ['reconnection/gap-resync'], skip: ['throttling/backoff', 'throttling/no-429-storm', 'throttling/retry-cap'] },
  'no-idempotency-key': { fail: ['idempotency/keys-on-posts', 'idempotency/retry-reuses-key', 'idempotency/no-duplicates'] },
  'new-idempotency-key-per-retry': { fail: ['idempotency/retry-reuses-key', 'idempotency/no-duplicates'] },
  'processes-events-twice': { fail: ['idempotency/events-once'] },
  'processes-twice-jittered': { fail: ['idempotency/events-once'] },
  'hammers-after-401': { fail: ['auth/no-hot-loop-after-401'] }
}

/**
 * Under `default` the stall comes first (at the contract's 15 s heartbeat it takes most of the run to
 * notice), so a client that never notices it meets no other stream fault: nothing else of the stream
 * can be judged for it.
 */
const EXPECTED: Record<'default' | 'quick', Expected> = {
  quick: BOTH,
  default: {
    ...BOTH,
    'no-stall-detection': { fail: ['reconnection/stall-detected'], skip: ['idempotency/events-once', 'reconnection/comes-back', 'reconnection/gap-resync', 'reconnection/last-event-id', 'reconnection/respects-retry'] }
  }
}

/** Under the noisy neighbour: a client that honours Retry-After, one that does not. */
const SHARED_KEY = ['good-fetch', 'slow-reconnect-jitter', 'ignores-retry-after']

// The drills' checks run only under their own profiles (bench/drill-verdicts.ts judges them).
const ALL_CHECKS = Object.keys(CATALOG).filter((id) => !(id in DRILL_CATALOG))
const concurrency = Number(process.env.VERDICTS_CONCURRENCY ?? 12)
const runs = new Map<string, ExampleRun>()
let tookS = 0

beforeAll(async () => {
  const started = Date.now()
  // The longer profile first, so the short runs fill the pool as the long ones finish.
  const jobs = [
    ...(['default', 'quick'] as const).flatMap((profile) => Object.keys(BOTH).map((name) => ({ name, profile: profile as string }))),
    ...SHARED_KEY.map((name) => ({ name, profile: 'shared-key' }))
  ]
  const results = await pool(jobs, concurrency, ({ name, profile }) => verifyExample(name, { profile }))
  results.forEach((r, i) => runs.set(`${jobs[i]!.profile}:${r.name}`, r))
  tookS = Math.round((Date.now() - started) / 1000)
  process.stderr.write(`verify-examples: ${jobs.length} runs, ${concurrency} at a time, ${tookS} s\n`)
}, 900_000)

describe('tenzro-harness verify on the example clients', () => {
  it('has an expected row for every example client and a client for every row', () => {
    expect(listExamples()).toEqual(Object.keys(BOTH).sort())
  })

  it('gives quick a fast heartbeat the clients are told about, and default the contract\'s own', () => {
    expect(PROFILES.quick!.clientEnv?.TENZRO_HEARTBEAT_TIMEOUT_MS).toBe('2500')
    expect(PROFILES.default!.mock.events?.heartbeatMs).toBe(15_000)
    expect(PROFILES.default!.clientEnv?.TENZRO_HEARTBEAT_TIMEOUT_MS).toBe('37500')
    for (const p of ['default', 'quick']) expect(PROFILES[p]!.checks).toEqual(['auth', 'throttling', 'reconnection', 'idempotency', 'secrets'])
  })

  describe.each(['default', 'quick'] as const)('profile %s', (profile) => {
    it.each(Object.entries(EXPECTED[profile]))('%s gets exactly its expected verdicts', (name, want) => {
      const run = runs.get(`${profile}:${name}`)!
      const got = run.verdicts
      const coverage = run.report?.suites[0]?.coverage ?? []
      const detail = `${profile} ${name}: ${summarise(got)}\nundelivered: ${coverage.filter((c) => c.delivered === 0).map((c) => c.id).join(', ')}\n${run.out}\n${run.err}`
      expect(Object.keys(got).sort(), detail).toEqual([...ALL_CHECKS].sort())
      const expected: Record<string, string> = {}
      for (const id of ALL_CHECKS) expected[id] = want.fail.includes(id) ? 'fail' : want.skip?.includes(id) === true ? 'skip' : 'pass'
      expect(got, detail).toEqual(expected)
      expect(run.exitCode, detail).toBe(want.fail.length > 0 ? 1 : 0)
      // The console summary names every failed check, and the three reports are written.
      for (const id of want.fail) expect(run.out).toMatch(new RegExp(`FAIL ${id.replace('/', '\\/')}\\s`))
      for (const f of ['report.json', 'junit.xml', 'report.html']) expect(existsSync(join(run.reportDir, f)), f).toBe(true)
      // Coverage lists every fault of the profile.
      expect(coverage.map((c) => c.id)).toEqual(PROFILES[profile]!.faults.map((f) => f.id))
    })

    it.each(GOOD)('%s meets every fault of the profile, whatever its timing', (name) => {
      const run = runs.get(`${profile}:${name}`)!
      const coverage = run.report!.suites[0]!.coverage!
      expect(coverage.filter((c) => c.delivered === 0).map((c) => c.id), run.out).toEqual([])
      expect(run.out).toMatch(new RegExp(`; all ${coverage.length} planned faults delivered to the client`))
    })
  })

  describe('profile shared-key (a noisy neighbour on the same key, no injected fault)', () => {
    it.each(SHARED_KEY)('%s meets the limiter\'s real 429s and is judged on them', (name) => {
      const run = runs.get(`shared-key:${name}`)!
      const suite = run.report!.suites[0]!
      const detail = `${name}: ${summarise(run.verdicts)}\n${run.out}`
      // The neighbour ran and was throttled, and its requests are not the client's.
      expect(Number(suite.stats.neighbourRequests), detail).toBeGreaterThan(50)
      expect(Number(suite.stats.neighbour429), detail).toBeGreaterThan(0)
      expect(Number(suite.stats['429']), detail).toBeGreaterThan(0)
      expect(suite.coverage).toEqual([])
      const bad = name === 'ignores-retry-after'
      expect(run.verdicts['throttling/retry-after'], detail).toBe(bad ? 'fail' : 'pass')
      expect(run.verdicts['auth/key-in-header'], detail).toBe('pass')
      expect(run.verdicts['secrets/no-leak'], detail).toBe('pass')
      if (!bad) expect(run.verdicts['throttling/no-429-storm'], detail).toBe('pass')
      expect(run.exitCode, detail).toBe(bad ? 1 : 0)
    })
  })
})
