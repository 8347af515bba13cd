// Acceptance test of the verdicts (issue 6 item 6): `tenzro-harness verify --profile quick` (the CLI's
// main(), real mock on 127.0.0.1:0, real client processes) on every example client in
// examples/clients. Each bad example fails exactly the checks its one bad habit breaks, the two good
// clients (one on the reference client, one on plain fetch) pass, and the exit code follows (1 / 0).
// Examples run VERDICTS_CONCURRENCY (default 9) at a time: two rounds of about 22 s.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { listExamples, pool, summarise, verifyExample, type ExampleRun } from '../../bench/verdicts.ts'
import { PROFILES } from '../src/profiles.ts'

/**
 * Expected verdicts under the quick profile: the checks each example must fail, and the checks that
 * cannot be judged for it (skip). Every other check must pass.
 * - ignores-gaps runs no list loop (a client that re-lists every 200 ms is resynchronised whether it
 *   means to be or not), so no 5xx is ever retried: throttling/backoff and retry-cap have nothing to judge.
 * - ignores-retry-after and no-last-event-id never see the stream.gap: the first comes back after 1 s
 *   instead of 5 s and loses nothing the log does not keep; the second resumes "live from now", which
 *   never gaps. no-stall-detection sits on its stalled stream until the key is revoked, so it never
 *   reaches the refusal that causes the gap.
 */
const EXPECTED: Record<string, { fail: string[], skip?: string[] }> = {
  good: { fail: [] },
  'good-fetch': { fail: [] },
  'leaks-key-in-logs': { fail: ['secrets/no-leak'] },
  'key-in-url': { fail: ['auth/key-in-header', 'secrets/no-leak'] },
  'ignores-retry-after': { fail: ['throttling/retry-after'], skip: ['reconnection/gap-resync'] },
  'no-backoff': { fail: ['throttling/backoff'] },
  'fixed-backoff': { fail: ['throttling/backoff'] },
  'no-jitter': { fail: ['throttling/backoff'] },
  'retries-forever': { fail: ['throttling/retry-cap'] },
  'no-last-event-id': { fail: ['reconnection/last-event-id'], skip: ['reconnection/gap-resync'] },
  'reconnects-immediately': { fail: ['reconnection/respects-retry'] },
  'ignores-retry-field': { fail: ['reconnection/respects-retry'] },
  'no-stall-detection': { fail: ['reconnection/stall-detected'], skip: ['reconnection/gap-resync'] },
  'ignores-gaps': { fail: ['reconnection/gap-resync'], skip: ['throttling/backoff', 'throttling/retry-cap'] },
  'no-idempotency-key': { fail: ['idempotency/keys-on-posts', 'idempotency/retry-reuses-key', 'idempotency/no-duplicates'] },
  'new-idempotency-key-per-retry': { fail: ['idempotency/retry-reuses-key', 'idempotency/no-duplicates'] },
  'processes-events-twice': { fail: ['idempotency/events-once'] },
  'hammers-after-401': { fail: ['auth/no-hot-loop-after-401'] }
}

const ALL_CHECKS = [
  'auth/key-in-header', 'auth/no-hot-loop-after-401',
  'throttling/retry-after', 'throttling/no-429-storm', 'throttling/backoff', 'throttling/retry-cap',
  'reconnection/comes-back', 'reconnection/respects-retry', 'reconnection/last-event-id', 'reconnection/no-hot-loop', 'reconnection/stall-detected', 'reconnection/gap-resync',
  'idempotency/keys-on-posts', 'idempotency/retry-reuses-key', 'idempotency/no-duplicates', 'idempotency/events-once',
  'secrets/no-leak'
]

const concurrency = Number(process.env.VERDICTS_CONCURRENCY ?? 9)
const runs = new Map<string, ExampleRun>()

describe('tenzro-harness verify on the example clients (quick profile)', () => {
  beforeAll(async () => {
    const names = Object.keys(EXPECTED)
    const results = await pool(names, concurrency, (name) => verifyExample(name))
    for (const r of results) runs.set(r.name, r)
  }, 300_000)

  it('has an expected row for every example client and a client for every row', () => {
    expect(listExamples()).toEqual(Object.keys(EXPECTED).sort())
  })

  it('runs the quick profile in about 20 s, with the fast heartbeat the clients are told about', () => {
    const quick = PROFILES.quick!
    expect(quick.durationS).toBeLessThanOrEqual(20)
    expect(quick.clientEnv?.TENZRO_HEARTBEAT_TIMEOUT_MS).toBe('2500')
    expect(quick.checks).toEqual(['auth', 'throttling', 'reconnection', 'idempotency', 'secrets'])
  })

  it.each(Object.entries(EXPECTED))('%s gets exactly its expected verdicts', (name, want) => {
    const run = runs.get(name)!
    const got = run.verdicts
    const detail = `${name}: ${summarise(got)}\n${run.out}\n${run.err}`
    expect(Object.keys(got).sort(), detail).toEqual([...ALL_CHECKS].sort())
    const expected: Record<string, string> = {}
    for (const id of ALL_CHECKS) expected[id] = want.fail.includes(id) ? 'fail' : want.skip?.includes(id) === true ? 'skip' : 'pass'
    expect(got, detail).toEqual(expected)
    expect(run.exitCode, detail).toBe(want.fail.length > 0 ? 1 : 0)
    // The console summary names every failed check, and the three reports are written.
    for (const id of want.fail) expect(run.out).toMatch(new RegExp(`FAIL ${id.replace('/', '\\/')}\\s`))
    for (const f of ['report.json', 'junit.xml', 'report.html']) expect(existsSync(join(run.reportDir, f)), f).toBe(true)
  })
})
