// Live from now across instances (contract 4.4): a stream opened with no id on one mock process gets
// every event another process publishes after the stream opened (after its `retry:` frame), also when
// it is the first stream of that tenant on its instance. Three real tenzro-mock processes on one real
// nats-server -js; every try uses a tenant no instance has streamed yet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fakeKey } from './helper.ts'
import { startMockProcesses, type MockProcess } from './helpers/instances.ts'
import { natsSkipReason, startNatsServer, type NatsServer } from './helpers/nats.ts'
import { openRaw } from './helpers/sse.ts'

const TRIES = 200
const INSTANCES = 3
/** Tries in flight at once: enough to overlap stream opens with publishes, little enough for 2 cores. */
const PARALLEL = 8

const tenants = Array.from({ length: TRIES }, (_, i) => ({
  slug: `race${i}`,
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  key: fakeKey(`race${i}`, `Race${i}x`)
}))

const skip = natsSkipReason()

describe.skipIf(skip !== undefined)('scale-out: live from now across instances (contract 4.4)', () => {
  let nats: NatsServer
  let mocks: MockProcess[] = []

  beforeAll(async () => {
    nats = await startNatsServer()
    mocks = await startMockProcesses(INSTANCES, {
      logLevel: 'warn',
      walletsPerTenant: 0,
      events: { backend: nats.url },
      tenants: tenants.map((t) => ({ slug: t.slug, id: t.id, keys: [{ key: t.key }] }))
    })
  }, 90_000)

  afterAll(async () => {
    await Promise.all(mocks.map((m) => m.stop()))
    await nats?.stop()
  })

  it(`misses no event published on another instance right after the stream opened (${TRIES} tries, first stream of the tenant on its instance)`, async () => {
    const missed: number[] = []
    async function attempt (i: number): Promise<void> {
      const t = tenants[i]!
      const reader = mocks[i % INSTANCES]!
      const writer = mocks[(i + 1) % INSTANCES]!
      const s = await openRaw(`${reader.url}/api/events/stream`, { 'x-api-key': t.key, 'x-tenant-id': t.id })
      try {
        expect(s.status).toBe(200)
        // The stream is open for the client once `retry:` has arrived; publish on another instance now.
        await s.waitFor((r) => r.text().includes('retry:'), 10_000, 'retry:')
        const res = await fetch(`${writer.url}/__harness/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: t.id, type: 'wallet.created', data: { i } }) })
        if (res.status !== 201) throw new Error(`publish answered ${res.status}: ${await res.text()}\n${writer.stderr().slice(-2000)}`)
        const { data } = await res.json() as { data: { sequence: number } }
        try {
          await s.waitFor((r) => r.events().some((b) => b.id === String(data.sequence)), 5000, `event ${data.sequence}`)
        } catch {
          missed.push(i)
        }
      } finally {
        s.close()
      }
    }
    let next = 0
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      while (next < TRIES) await attempt(next++)
    }))
    expect(missed).toEqual([])
  }, 240_000)
})
