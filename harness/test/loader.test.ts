// The noisy neighbour of the shared-key profile: a steady loader on the client's own key, above its
// limit, against the real mock. The limiter answers it with real 429s; its requests are named so the
// harness can leave them out of the evidence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { control, QUIET, readRecord, startMock, type TestMock } from '../../mock-server/test/helper.ts'
import { LOADER_REQUEST_PREFIX, startLoader } from '../src/loader.ts'

let m: TestMock
beforeAll(async () => { m = await startMock({ ...QUIET, rateLimit: { windowMs: 1000 } }) })
afterAll(async () => { await m.close() })

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

  it('refuses a rate that is not positive', () => {
    expect(() => startLoader({ baseUrl: m.url, apiKey: 'x', tenantId: 'y', ratePerS: 0 })).toThrow(/ratePerS/)
  })
})
