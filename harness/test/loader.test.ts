// The noisy neighbour of the shared-key profile: a steady loader on the client's own key, above its
// limit, against the real mock. The limiter answers it with real 429s; its requests are named so the
// harness can leave them out of the evidence.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { control, QUIET, readRecord, startMock, type TestMock } from '../../mock-server/test/helper.ts'
import { LOADER_REQUEST_PREFIX, startLoader } from '../src/loader.ts'

let m: TestMock
beforeAll(async () => { m = await startMock({ ...QUIET, rateLimit: { windowMs: 1000 } }) })
afterAll(async () => { await m.close() })
afterEach(() => { vi.useRealTimers() })

describe('startLoader', () => {
  it('spends the key above its limit, meets the limiter\'s own 429s, and names every request it sends', async () => {
    const t = await control(m, 'POST', '/__harness/tenants', { rateLimit: 5 })
    const { tenant, key } = (t.body as { data: { tenant: { id: string }, key: { id: string, key: string } } }).data
    const loader = startLoader({ baseUrl: m.url, apiKey: key.key, tenantId: tenant.id, ratePerS: 6 })
    await new Promise((resolve) => setTimeout(resolve, 2500))
    const stats = await loader.stop()
    expect(stats.sent).toBeGreaterThan(0)
    expect(stats.ok + stats.limited + stats.other + stats.failed).toBe(stats.sent)
    expect(stats.limited).toBeGreaterThan(0)
    expect(stats.other + stats.failed).toBe(0)
    const mine = (await readRecord(m)).filter((e) => e.type === 'request' && e.keyId === key.id)
    expect(mine).toHaveLength(stats.sent)
    expect(mine.every((e) => String(e.requestId).startsWith(LOADER_REQUEST_PREFIX))).toBe(true)
    // Honest headers: every 429 the neighbour met came from the limiter, with Retry-After.
    expect(mine.filter((e) => e.status === 429).every((e) => e.code === 'rate_limited' && Number(e.retryAfterS) >= 1)).toBe(true)
    // Nothing more goes out once stopped.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(loader.stats().sent).toBe(stats.sent)
  })

  it('aligned to the fixed window, starts as if it had run since the window began: that share goes out at once', async () => {
    const sent: string[] = []
    const fakeFetch = (async (_u: unknown, init?: RequestInit) => {
      sent.push(String((init!.headers as Record<string, string>)['x-request-id']))
      return new Response('{}', { status: 200 })
    }) as typeof fetch
    // 9.5 s into a 15 s window at 12 requests/s: 114 requests are due at once (more than 64 in flight).
    const loader = startLoader({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k', tenantId: 't', ratePerS: 12, fetch: fakeFetch, now: () => 1_800_000_009_500, alignToWindowMs: 15_000 })
    await new Promise((resolve) => setTimeout(resolve, 150))
    const stats = await loader.stop()
    expect(stats.skipped).toBe(0)
    expect(stats.sent).toBe(114)
    expect(sent).toHaveLength(114)
    // Unaligned, the same start sends nothing until time passes.
    const plain = startLoader({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k', tenantId: 't', ratePerS: 12, fetch: fakeFetch, now: () => 1_800_000_009_500 })
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect((await plain.stop()).sent).toBe(0)
  })

  it('takes the last request of every window itself, so a client pacing on X-RateLimit-Remaining still meets the 429s', async () => {
    // A fixed-window limiter in process (30 per 300 ms window), counting at call time, and a client
    // at ~80 requests/s beside the neighbour at 1.2x that waits out X-RateLimit-Reset once it is told
    // Remaining 0 (contract 5.2). On a fake clock every run is the same: without the drain this
    // client takes the last request of every window and never meets a 429 (on a real machine, about
    // two windows in five); with it, the client is never told Remaining 0 and meets 429s in every window.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'], now: 1_800_000_000_000 })
    const windowMs = 300
    const limit = 30
    async function pacedRun (drainAt: number): Promise<{ zeros: number, limitedWindows: number, windows: number }> {
      const used = new Map<number, number>()
      const answer = (): Response => {
        const w = Math.floor(Date.now() / windowMs)
        const n = (used.get(w) ?? 0) + 1
        used.set(w, n)
        const reset = String(((w + 1) * windowMs) / 1000)
        if (n > limit) return new Response('{}', { status: 429, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset, 'retry-after': '1' } })
        return new Response('{}', { status: 200, headers: { 'x-ratelimit-remaining': String(limit - n), 'x-ratelimit-reset': reset } })
      }
      const fakeFetch = (async () => answer()) as unknown as typeof fetch
      const loader = startLoader({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k', tenantId: 't', ratePerS: 1.2 * limit / (windowMs / 1000), fetch: fakeFetch, alignToWindowMs: windowMs, drainAt })
      let zeros = 0
      let pausedUntil = 0
      const limitedIn = new Set<number>()
      const client = setInterval(() => {
        if (Date.now() < pausedUntil) return
        const res = answer()
        if (res.status === 429) limitedIn.add(Math.floor(Date.now() / windowMs))
        else if (res.headers.get('x-ratelimit-remaining') === '0') { zeros++; pausedUntil = Number(res.headers.get('x-ratelimit-reset')) * 1000 }
      }, 12)
      const first = Math.floor(Date.now() / windowMs) + 1
      await vi.advanceTimersByTimeAsync(21 * windowMs)
      clearInterval(client)
      await loader.stop()
      const last = Math.floor(Date.now() / windowMs) - 1
      return { zeros, limitedWindows: [...limitedIn].filter((w) => w >= first && w <= last).length, windows: last - first + 1 }
    }
    const drained = await pacedRun(4)
    expect(drained.zeros, JSON.stringify(drained)).toBe(0)
    expect(drained.windows).toBe(20)
    expect(drained.limitedWindows, JSON.stringify(drained)).toBe(drained.windows)
    const plain = await pacedRun(0)
    expect(plain.zeros, JSON.stringify(plain)).toBeGreaterThan(0)
    expect(plain.limitedWindows, JSON.stringify(plain)).toBeLessThan(plain.windows)
  })

  it('refuses a rate that is not positive', () => {
    expect(() => startLoader({ baseUrl: m.url, apiKey: 'x', tenantId: 'y', ratePerS: 0 })).toThrow(/ratePerS/)
  })
})
