// Hostile input on every route (fuzz/run.ts): 10,000 property-based requests on a fixed seed against
// `tenzro-mock` as a child process; no 5xx, every answer in the envelope with a documented code, every
// request in the record, the process alive, no key echoed. `npm run bench -- fuzz` runs a longer one.
import { describe, expect, it } from 'vitest'
import { runFuzz } from './fuzz/run.ts'

describe('fuzzing every route with hostile input', () => {
  it('answers 10,000 fuzzed requests without a 5xx, outside the envelope, unrecorded or echoing a key', async () => {
    const numRuns = Number(process.env.FUZZ_RUNS ?? 10_000)
    const r = await runFuzz({ numRuns, seed: 1414 })
    console.log(`fuzz: ${r.cases} cases, ${r.sent} sent, statuses ${JSON.stringify(r.statuses)}`)
    expect(r.failures.slice(0, 10)).toEqual([])
    expect(r.leaks.slice(0, 10)).toEqual([])
    expect(r.alive).toBe(true)
    expect(r.missingFromRecord).toBe(0)
    // Cases the client itself refuses to send (an invalid header value) do not count.
    expect(r.sent).toBeGreaterThan(numRuns * 0.9)
    // About 15 s on an idle 2-core machine; the timeout leaves room for a CI machine running other files.
  }, 600_000)

  it('catches the leaks when redaction is switched off, so the oracle above can fail', async () => {
    const r = await runFuzz({ numRuns: 300, seed: 1414, unsafe: true })
    expect(r.leaks.length).toBeGreaterThan(0)
  }, 120_000)
})
