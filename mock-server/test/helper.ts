// Shared test fixtures: a mock on a real socket with two tenants, captured logs, and obviously fake keys.
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppDeps } from '../src/app.ts'
import { resolveConfig, type MockConfigInput } from '../src/config.ts'

export interface TestMock {
  app: FastifyInstance
  url: string
  logs: string[]
  /** Full keys created for the two seeded tenants, by slug. */
  keys: Record<'acme' | 'globex', { id: string, key: string, tenantId: string }>
  close (): Promise<void>
}

/** A mock listening on 127.0.0.1:0 with tenants acme and globex, each with one fresh key. */
export async function startMock (input: MockConfigInput = {}, deps: AppDeps = {}): Promise<TestMock> {
  const logs: string[] = []
  const logStream = new Writable({
    write (chunk, _enc, cb) { logs.push(...String(chunk).split('\n').filter(Boolean)); cb() }
  })
  const app = await buildApp(resolveConfig({ logLevel: 'info', ...input }), { logStream, ...deps })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const addr = app.server.address()
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`
  const keys = {} as TestMock['keys']
  for (const slug of ['acme', 'globex'] as const) {
    const tenant = app.mock.keys.tenant(slug)!
    const { record, key } = app.mock.keys.createKey(tenant, { name: 'test' })
    keys[slug] = { id: record.id, key, tenantId: tenant.id }
  }
  return { app, url, logs, keys, close: () => app.close() }
}

export function headersFor (k: { key: string, tenantId: string }, extra: Record<string, string> = {}): Record<string, string> {
  return { 'x-api-key': k.key, 'x-tenant-id': k.tenantId, ...extra }
}

/** An obviously fake key of the right shape (contract 2.1). */
export function fakeKey (slug: string, fill = 'FAKE'): string {
  return `tnz_${slug}_${fill.repeat(Math.ceil(43 / fill.length)).slice(0, 43)}`
}
