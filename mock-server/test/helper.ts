// Shared test fixtures: a mock on a real socket with two tenants, captured logs, and obviously fake keys.
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppDeps } from '../src/app.ts'
import { resolveConfig, type MockConfigInput } from '../src/config.ts'
import { assertConforming, watchAnswers } from './helpers/openapi.ts'

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
  // Every answer the test sees must be one GET /openapi.json documents; close() fails otherwise.
  const violations = watchAnswers(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const addr = app.server.address()
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`
  const keys = {} as TestMock['keys']
  for (const slug of ['acme', 'globex'] as const) {
    const tenant = app.mock.keys.tenant(slug)!
    const { record, key } = app.mock.keys.createKey(tenant, { name: 'test' })
    keys[slug] = { id: record.id, key, tenantId: tenant.id }
  }
  const close = async () => {
    await app.close()
    await new Promise((resolve) => setImmediate(resolve))
    assertConforming(violations)
  }
  return { app, url, logs, keys, close }
}

export function headersFor (k: { key: string, tenantId: string }, extra: Record<string, string> = {}): Record<string, string> {
  return { 'x-api-key': k.key, 'x-tenant-id': k.tenantId, ...extra }
}

/** An obviously fake key of the right shape (contract 2.1). */
export function fakeKey (slug: string, fill = 'FAKE'): string {
  return `tnz_${slug}_${fill.repeat(Math.ceil(43 / fill.length)).slice(0, 43)}`
}

/** A fake epoch-ms clock for buildApp's `now` (house style principle 3). */
export function fakeClock (startMs = Date.UTC(2026, 5, 1)) {
  let t = startMs
  return {
    now: () => t,
    advance (ms: number) { t += ms },
    set (ms: number) { t = ms }
  }
}

/** Call the control API (contract 7.4) and parse its JSON answer. */
export async function control (m: { url: string }, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number, body: any, headers: Headers }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (token !== undefined) headers['x-harness-token'] = token
  const res = await fetch(m.url + path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  const text = await res.text()
  return { status: res.status, body: text.length > 0 && /^application\/json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : text, headers: res.headers }
}

/** The request record (contract 7.3) through GET /__harness/record, parsed from NDJSON. */
export async function readRecord (m: { url: string }, after?: number, token?: string): Promise<Array<Record<string, any>>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(m.url + '/__harness/record' + (after === undefined ? '' : `?after=${after}`), { headers: token === undefined ? {} : { 'x-harness-token': token } })
  if (res.status !== 200) throw new Error(`GET /__harness/record answered ${res.status}`)
  return (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l))
}

/** POST a JSON body with a tenant key. */
export function postJson (m: { url: string }, path: string, k: { key: string, tenantId: string }, body: unknown, extra: Record<string, string> = {}): Promise<Response> {
  return fetch(m.url + path, { method: 'POST', headers: headersFor(k, { 'content-type': 'application/json', ...extra }), body: JSON.stringify(body) })
}

export const REQUEST_ID_GENERATED = /^req_[A-Za-z0-9]{26}$/

/**
 * Assert the error envelope of contract 1.5 and the headers of 1.3 on a fetch Response; returns the
 * parsed body. `sentRequestId`: the X-Request-Id the client sent, if any, and whether it was valid.
 */
export async function expectErrorEnvelope (res: Response, status: number, code: string, sent?: { requestId: string, valid: boolean }): Promise<{ error: { code: string, message: string, details: Array<{ field: string, message: string }> }, meta: { requestId: string, timestamp: string } }> {
  const text = await res.text()
  const { expect } = await import('vitest')
  expect(res.status, text).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  const body = JSON.parse(text)
  expect(Object.keys(body).sort()).toEqual(['error', 'meta'])
  expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message'])
  expect(body.error.code).toBe(code)
  expect(typeof body.error.message).toBe('string')
  expect(body.error.message.length).toBeGreaterThan(0)
  expect(Array.isArray(body.error.details)).toBe(true)
  for (const d of body.error.details) {
    expect(Object.keys(d).sort()).toEqual(['field', 'message'])
    expect(typeof d.field).toBe('string')
    expect(typeof d.message).toBe('string')
  }
  expect(typeof body.meta.requestId).toBe('string')
  expect(new Date(body.meta.timestamp).toISOString()).toBe(body.meta.timestamp)
  const rid = res.headers.get('x-request-id')
  expect(rid).toBe(body.meta.requestId)
  if (sent?.valid === true) expect(rid).toBe(sent.requestId)
  else expect(rid).toMatch(REQUEST_ID_GENERATED)
  expect(res.headers.get('x-api-version')).toBe('1')
  return body
}

/** Config for tests that are not about rate limits: quiet logs and a limit no test reaches. */
export const QUIET: MockConfigInput = { logLevel: 'silent', rateLimit: { limit: 1_000_000_000 } }

/** A parsed JSON body, loosely typed for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any
export async function jsonOf (res: Response): Promise<Json> {
  return await res.json()
}
