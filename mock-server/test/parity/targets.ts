// The two mocks the contract suite runs against, behind one interface: the Fastify mock on a real socket
// (driven through its control API, contract 7.4) and the msw handlers in process (driven through their
// helpers), both on the same fake clock and seed, each answering plain fetch().
import { setupServer } from 'msw/node'
import type { MockConfigInput } from '../../src/config.ts'
import { createTenzroHandlers } from '../../src/msw/index.ts'
import { control, fakeClock, readRecord, startMock } from '../helper.ts'

export type TargetName = 'fastify' | 'msw'

export interface TargetKey {
  id: string
  key: string
  tenantId: string
}

export interface KeyInput {
  scopes?: string[]
  rateLimit?: number
  expiresAt?: string
}

export interface Target {
  name: TargetName
  baseUrl: string
  fetch: typeof fetch
  clock: ReturnType<typeof fakeClock>
  /** A new key for a tenant slug or id (POST /__harness/keys). */
  createKey (tenant: string, input?: KeyInput): Promise<TargetKey>
  revokeKey (id: string): Promise<void>
  /** Set the fault plan (PUT /__harness/faults). */
  setFaults (plan: unknown): Promise<void>
  /** Publish an event (POST /__harness/events); resolves to its sequence. */
  publish (tenant: string, type: string, data: unknown): Promise<number>
  /** The request record (GET /__harness/record). */
  record (): Promise<Array<Record<string, unknown>>>
  close (): Promise<void>
}

/** A start time on a 60 s window boundary, so rate-limit windows are predictable. */
export const T0 = 1_800_000_000_000

function check (what: string, r: { status: number, body: unknown }, status: number): void {
  if (r.status !== status) throw new Error(`${what} answered ${r.status}: ${JSON.stringify(r.body)}`)
}

export async function startFastify (config: MockConfigInput): Promise<Target> {
  const clock = fakeClock(T0)
  const m = await startMock({ logLevel: 'silent', ...config }, { now: clock.now })
  return {
    name: 'fastify',
    baseUrl: m.url,
    fetch: (input, init) => fetch(input, init),
    clock,
    async createKey (tenant, input = {}) {
      const r = await control(m, 'POST', '/__harness/keys', { tenant, ...input })
      check('POST /__harness/keys', r, 201)
      const t = m.app.mock.keys.tenant(tenant)!
      return { id: r.body.data.id, key: r.body.data.key, tenantId: t.id }
    },
    async revokeKey (id) {
      check('DELETE /__harness/keys/:id', await control(m, 'DELETE', `/__harness/keys/${id}`), 200)
    },
    async setFaults (plan) {
      check('PUT /__harness/faults', await control(m, 'PUT', '/__harness/faults', plan), 200)
    },
    async publish (tenant, type, data) {
      const r = await control(m, 'POST', '/__harness/events', { tenant, type, data })
      check('POST /__harness/events', r, 201)
      return r.body.data.seq
    },
    record: () => readRecord(m),
    close: () => m.close()
  }
}

export async function startMsw (config: MockConfigInput): Promise<Target> {
  const clock = fakeClock(T0)
  const baseUrl = 'http://tenzro.test'
  const t = createTenzroHandlers({ baseUrl, config: { logLevel: 'silent', ...config }, now: clock.now })
  // startMock gives each seeded tenant one key first; so do we, so key ids come out the same.
  t.createKey('acme', { name: 'test' })
  t.createKey('globex', { name: 'test' })
  const server = setupServer(...t.handlers)
  server.listen({ onUnhandledFrame: 'error' })
  return {
    name: 'msw',
    baseUrl,
    fetch: (input, init) => fetch(input, init),
    clock,
    async createKey (tenant, input = {}) {
      const k = t.createKey(tenant, input)
      return { id: k.id, key: k.key, tenantId: k.tenantId }
    },
    async revokeKey (id) { t.revokeKey(id) },
    async setFaults (plan) { t.setFaults(plan) },
    async publish (tenant, type, data) { return (await t.publish(tenant, type, data)).seq },
    async record () { return t.record() },
    async close () {
      server.close()
      await t.close()
    }
  }
}

export const TARGETS: Array<{ name: TargetName, start: (config: MockConfigInput) => Promise<Target> }> = [
  { name: 'fastify', start: startFastify },
  { name: 'msw', start: startMsw }
]
