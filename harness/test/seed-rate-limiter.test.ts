// The guide's client-side RateLimiter (examples/clients/drills/seed-rate-limiter.ts, transcribed
// verbatim) on a fake clock: what it does keep to, and the two ways it lets more than `limit` requests
// into one window, as the README states.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RateLimiter } from '../../examples/clients/drills/seed-rate-limiter.ts'

describe("the guide's RateLimiter", () => {
  beforeEach(() => { vi.useFakeTimers({ now: 1_800_000_000_000 }) })
  afterEach(() => { vi.useRealTimers() })

  it('lets `limit` calls through at once, then holds the next until the oldest leaves the window', async () => {
    const l = new RateLimiter(3, 1000)
    for (let i = 0; i < 3; i++) await l.throttle()
    let done = false
    const p = l.throttle().then(() => { done = true })
    await vi.advanceTimersByTimeAsync(999)
    expect(done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await p
    expect(done).toBe(true)
  })

  it('lets two concurrent callers through on one freed slot: limit + 1 requests in one window', async () => {
    const l = new RateLimiter(3, 1000)
    const sent: number[] = []
    const call = async () => { await l.throttle(); sent.push(Date.now()) }
    for (let i = 0; i < 3; i++) { await call(); await vi.advanceTimersByTimeAsync(100) } // t = 0, 100, 200
    const both = Promise.all([call(), call()]) // t = 300: both wait for the slot of t = 0
    await vi.advanceTimersByTimeAsync(700)
    await both
    const t = sent.map((x) => x - sent[0]!)
    expect(t).toEqual([0, 100, 200, 1000, 1000])
    // 100, 200, 1000 and 1000 fall within one 1000 ms window: 4 requests where the limit is 3.
    expect(t.filter((x) => x > 0 && x <= 1000)).toHaveLength(4)
  })

  it('records the time before its wait, so a later burst fits more than `limit` calls into a real window', async () => {
    const l = new RateLimiter(2, 1000)
    const sent: number[] = []
    const call = async () => { await l.throttle(); sent.push(Date.now()) }
    await call() // t = 0
    await vi.advanceTimersByTimeAsync(900)
    await call() // t = 900
    const third = call() // waits until t = 1000, but is recorded at t = 900
    await vi.advanceTimersByTimeAsync(100)
    await third
    await vi.advanceTimersByTimeAsync(800) // t = 1800
    const fourth = call() // stamps 900 and 900 in the window: waits until 1900, recorded at 1800
    await vi.advanceTimersByTimeAsync(100)
    await fourth
    await call() // t = 1900: both 900 stamps have left the window, so it goes at once
    const t = sent.map((x) => x - sent[0]!)
    expect(t).toEqual([0, 900, 1000, 1900, 1900])
    // 1000, 1900 and 1900 fall within one 1000 ms window: 3 requests where the limit is 2.
    expect(t.filter((x) => x > 900 && x <= 1900)).toHaveLength(3)
  })
})
