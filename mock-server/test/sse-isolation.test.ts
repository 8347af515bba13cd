// One stream's failure is that stream's alone (contract 4, 7.3): an event whose data cannot be
// serialised reaches a client as a one-id stream.gap (4.4), and an unexpected error inside one stream
// closes that stream, recorded and logged, while the event log, the other streams and the process go on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { headersFor, readRecord, startMock, type TestMock } from './helper.ts'
import { openRaw } from './helpers/sse.ts'

let m: TestMock
beforeAll(async () => { m = await startMock({ rateLimit: { limit: 1_000_000 } }) })
afterAll(async () => { await m.close() })

const deep = (n: number): unknown => { let v: unknown = 1; for (let i = 0; i < n; i++) v = [v]; return v }

describe('a stream meets an event it cannot serialise', () => {
  it('sends a stream.gap for that id and goes on with the next event', async () => {
    const tenant = m.keys.acme.tenantId
    const s = await openRaw(m.url + '/api/events/stream', headersFor(m.keys.acme))
    await s.waitFor((x) => x.text().includes('retry:'), 5000, 'retry frame')
    await m.app.mock.events.publish(tenant, 'wallet.created', deep(20_000))
    const ok = await m.app.mock.events.publish(tenant, 'wallet.created', { id: 'after' })
    await s.waitFor((x) => x.events().some((b) => b.id === String(ok.seq)), 5000, 'the next event')
    const gap = s.events().find((b) => b.event === 'stream.gap')
    expect(gap).toMatchObject({ id: String(ok.seq - 1), data: JSON.stringify({ from: ok.seq - 1, to: ok.seq - 1 }) })
    s.close()
  })
})

describe('an unexpected error inside one stream', () => {
  it('closes that stream only, recorded as internal-error and logged; the other stream and the mock go on', async () => {
    const tenant = m.keys.acme.tenantId
    const other = await m.app.mock.keys.createKey(m.app.mock.keys.tenant('acme')!, { name: 'other' })
    const a = await openRaw(m.url + '/api/events/stream', headersFor(m.keys.acme))
    const b = await openRaw(m.url + '/api/events/stream', headersFor({ key: other.key, tenantId: tenant }))
    await a.waitFor((x) => x.text().includes('retry:'))
    await b.waitFor((x) => x.text().includes('retry:'))
    // A fault inside stream a's own path: its key check throws.
    const keys = m.app.mock.keys
    const isLive = keys.isLive.bind(keys)
    keys.isLive = (id: string) => { if (id === m.keys.acme.id) throw new Error('boom'); return isLive(id) }
    try {
      const e = await m.app.mock.events.publish(tenant, 'wallet.created', { n: 1 })
      expect(await a.ended).toBe('aborted')
      await b.waitFor((x) => x.events().some((blk) => blk.id === String(e.seq)), 5000, 'event on the healthy stream')
      const e2 = await m.app.mock.events.publish(tenant, 'wallet.created', { n: 2 })
      await b.waitFor((x) => x.events().some((blk) => blk.id === String(e2.seq)), 5000, 'a later event on the healthy stream')
    } finally {
      keys.isLive = isLive
    }
    b.close()
    expect((await fetch(m.url + '/health')).status).toBe(200)
    const rec = await readRecord(m)
    expect(rec.filter((x) => x.type === 'drop' && x.reason === 'internal-error' && x.keyId === m.keys.acme.id)).toHaveLength(1)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(m.logs.some((l) => l.includes('event stream failed'))).toBe(true)
  })
})
