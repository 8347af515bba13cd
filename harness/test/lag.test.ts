// The harness's lag probe (the backoff check credits what it saw): a blocked event loop shows up as
// one late tick covering the block, and only the part of a stall inside a wait counts for that wait.
import { describe, expect, it } from 'vitest'
import { startLagProbe, worstLagWithin } from '../src/lag.ts'

describe('lag probe', () => {
  it('sees a 200 ms block of the event loop as a tick at least that late, placed over the block', async () => {
    const probe = startLagProbe()
    await new Promise((resolve) => setTimeout(resolve, 60))
    const from = Date.now()
    const until = from + 200
    while (Date.now() < until) { /* block the event loop */ }
    await new Promise((resolve) => setTimeout(resolve, 60))
    const trace = probe.stop()
    expect(trace.intervalMs).toBe(20)
    // The tick due during the block ran after it, late by at least the part of the block after its due time.
    expect(worstLagWithin(trace, from, until)).toBeGreaterThanOrEqual(180)
    expect(worstLagWithin(trace, from - 10_000, from - 5000)).toBe(0)
  })

  it('counts only the part of a late tick inside the window', () => {
    const trace = { intervalMs: 20, samples: [[1000, 300], [2000, 50]] as Array<[number, number]> }
    expect(worstLagWithin(trace, 0, 5000)).toBe(300)
    expect(worstLagWithin(trace, 900, 5000)).toBe(100) // the stall 700-1000 overlaps from 900
    expect(worstLagWithin(trace, 1000, 1900)).toBe(0) // ended as the window began
    expect(worstLagWithin(trace, 1000, 1960)).toBe(10)
    expect(worstLagWithin(undefined, 0, 5000)).toBe(0)
  })
})
