// The client-side limiter (contract 5) on a fake clock: slots, not sleeps.
import { describe, expect, it } from 'vitest'
import { createThrottle } from '../src/client/index.ts'
import { fakeTime } from './helpers/mock.ts'

/** The most sends in any window of `windowMs` (what a sliding-window server counts). */
function maxInWindow (times: number[], windowMs: number): number {
  const s = [...times].sort((a, b) => a - b)
  let best = 0
  let lo = 0
  for (let hi = 0; hi < s.length; hi++) {
    while (s[hi]! - s[lo]! >= windowMs) lo++
    best = Math.max(best, hi - lo + 1)
  }
  return best
}

/**
 * The class from Tenzro's public security best practices guide ("Rate Limiting"), transcribed with an
 * injected clock and sleep. Kept here to show the flaw the client's throttle fixes.
 */
class SeedRateLimiter {
  private requests: number[] = []
  private limit: number
  private window: number
  private now: () => number
  private sleep: (ms: number) => Promise<void>
  constructor (limit: number, windowMs: number, now: () => number, sleep: (ms: number) => Promise<void>) {
    this.limit = limit
    this.window = windowMs
    this.now = now
    this.sleep = sleep
  }

  async throttle (): Promise<void> {
    const now = this.now()
    this.requests = this.requests.filter(t => t > now - this.window)
    if (this.requests.length >= this.limit) {
      const waitTime = this.requests[0]! + this.window - now
      await this.sleep(waitTime)
    }
    this.requests.push(this.now())
  }
}

/** A clock with timers: sleepers wake in order of wake time, so concurrent callers are simulated faithfully. */
function timerClock (start = 1_000_000) {
  let t = start
  const timers: Array<{ at: number, resolve: () => void }> = []
  return {
    now: () => t,
    sleep (ms: number): Promise<void> {
      return new Promise((resolve) => { timers.push({ at: t + Math.max(0, ms), resolve }) })
    },
    /** Runs every timer, in order, letting the woken code run (microtasks) between them. */
    async drain (): Promise<void> {
      for (;;) {
        await new Promise((resolve) => setImmediate(resolve))
        if (timers.length === 0) return
        timers.sort((a, b) => a.at - b.at)
        const next = timers.shift()!
        if (next.at > t) t = next.at
        next.resolve()
      }
    }
  }
}

describe('client throttle', () => {
  it('spreads N concurrent callers over the windows instead of letting them wake together', async () => {
    const clock = timerClock()
    const th = createThrottle({ limit: { limit: 10, windowMs: 1000, marginMs: 0 }, now: clock.now })
    const sent: number[] = []
    const callers = Array.from({ length: 45 }, async () => {
      const at = th.reserve()
      if (at > clock.now()) await clock.sleep(at - clock.now())
      sent.push(clock.now())
    })
    await clock.drain()
    await Promise.all(callers)
    expect(sent).toHaveLength(45)
    expect(maxInWindow(sent, 1000)).toBe(10)
    // Spread: five windows' worth, the last batch starting 4 windows after the first.
    expect(Math.max(...sent) - Math.min(...sent)).toBe(4000)
  })

  it('shows the seed class admitting a burst over the limit under the same load', async () => {
    const clock = timerClock()
    const seed = new SeedRateLimiter(10, 1000, clock.now, (ms) => clock.sleep(ms))
    const sent: number[] = []
    const callers = Array.from({ length: 45 }, async () => {
      await seed.throttle()
      sent.push(clock.now())
    })
    await clock.drain()
    await Promise.all(callers)
    // Everyone who found the log full computed the same wait and woke together: 35 at once.
    expect(maxInWindow(sent, 1000)).toBeGreaterThan(10)
  })

  it('keeps any window under the limit plus a margin for the spread of network latency', () => {
    const clock = fakeTime()
    const th = createThrottle({ limit: { limit: 5, windowMs: 1000 }, now: clock.now })
    const slots = Array.from({ length: 20 }, () => th.reserve())
    expect(maxInWindow(slots, th.state().windowSpanMs)).toBe(5)
    expect(th.state().windowSpanMs).toBe(1020) // default margin: 1 % of the window, at least 20 ms
    // Slots are handed out in order: never earlier than a slot handed out before.
    for (let i = 1; i < slots.length; i++) expect(slots[i]!).toBeGreaterThanOrEqual(slots[i - 1]!)
  })

  it('lets the next request wait until X-RateLimit-Reset once the server says 0 remain', () => {
    const clock = fakeTime(1_000_000)
    const th = createThrottle({ limit: false, now: clock.now })
    const a = th.reserve()
    expect(a).toBe(1_000_000)
    th.observe(100, 0, 1_003, th.sequence) // reset at 1 003 000 ms
    expect(th.reserve()).toBe(1_003_000)
  })

  it('counts slots handed out after a request against the remaining the server reported for it', () => {
    const clock = fakeTime(1_000_000)
    const th = createThrottle({ limit: false, now: clock.now })
    th.reserve()
    const first = th.sequence
    th.reserve()
    th.reserve() // two more in flight
    th.observe(10, 3, 1_002, first) // 3 left after the first: 2 are taken by those in flight, 1 remains
    expect(th.reserve()).toBe(1_000_000)
    expect(th.reserve()).toBe(1_002_000)
  })

  it('sends reservations beyond the remaining the server reported back behind the reset', () => {
    const clock = fakeTime(1_000_000)
    const th = createThrottle({ limit: false, now: clock.now })
    th.reserve()
    const first = th.sequence
    const later: number[] = []
    for (let i = 0; i < 4; i++) { th.reserve(); later.push(th.sequence) }
    th.observe(10, 2, 1_002, first) // only 2 of the 4 handed out can still be admitted
    expect(later.map((r) => th.recheck(r))).toEqual([0, 0, 1_002_000, 1_002_000])
    clock.advance(2000)
    expect(later.map((r) => th.recheck(r))).toEqual([0, 0, 0, 0])
  })

  it('ignores an answer about a window it has already moved past', () => {
    const clock = fakeTime(1_000_000)
    const th = createThrottle({ limit: false, now: clock.now })
    th.reserve()
    const r1 = th.sequence
    th.observe(2, 0, 1_001, r1)
    expect(th.reserve()).toBe(1_001_000) // first slot of the next window
    th.observe(2, 0, 1_001, r1) // a late duplicate about the spent window
    expect(th.reserve()).toBe(1_001_000) // second slot of the next window (limit 2)
    expect(th.reserve()).toBe(1_061_000) // then the window after (assumed 60 s until told)
  })

  it('closes the gate for everyone until a Retry-After has passed', () => {
    const clock = fakeTime(1_000_000)
    const th = createThrottle({ limit: { limit: 100, windowMs: 60_000 }, now: clock.now })
    th.reserve()
    const inFlight = th.sequence
    th.pause(1_002_000)
    expect(th.recheck(inFlight)).toBe(1_002_000)
    expect(th.reserve()).toBe(1_002_000)
  })

  it('keeps memory bounded for a large limit and still never exceeds it in any window', () => {
    const clock = fakeTime()
    const th = createThrottle({ limit: { limit: 10_000, windowMs: 1000, marginMs: 0 }, now: clock.now })
    expect(th.state().limit).toBeLessThanOrEqual(4096)
    const slots = Array.from({ length: 30_001 }, () => th.reserve())
    expect(maxInWindow(slots, 1000)).toBeLessThanOrEqual(10_000)
    expect(maxInWindow(slots, 1000)).toBeGreaterThan(9_000)
  })

  it('refuses a limit that cannot work', () => {
    expect(() => createThrottle({ limit: { limit: 0, windowMs: 1000 }, now: Date.now })).toThrow(/limit.limit/)
    expect(() => createThrottle({ limit: { limit: 5, windowMs: 0 }, now: Date.now })).toThrow(/windowMs/)
  })
})
