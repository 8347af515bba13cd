// Fixtures for the client's tests: the real mock on a real socket (mock-server/test/helper.ts
// startMock: buildApp + listen on 127.0.0.1:0, tenants acme and globex), its control API (contract
// 7.4), the request record (7.3), an in-memory span exporter and a capturing logger.
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace'
import type { Tracer } from '@opentelemetry/api'
import { control as mockControl, startMock, type TestMock } from '../../../mock-server/test/helper.ts'
import type { MockConfigInput } from '../../../mock-server/src/config.ts'
import type { FaultPlanInput } from '../../../mock-server/src/domain/fault-plan.ts'
import type { ClientLogger, TenzroApiError } from '../../src/client/index.ts'

export type { TestMock }

/** Config for client tests: quiet, fast SSE timings, and a limit no test reaches unless it sets one. */
export const CLIENT_TEST_CONFIG: MockConfigInput = {
  logLevel: 'silent',
  rateLimit: { limit: 1_000_000_000 },
  events: { retryMs: 10, heartbeatMs: 50, capacity: 1000 }
}

export async function startClientMock (input: MockConfigInput = {}, deps: { now?: () => number } = {}): Promise<TestMock> {
  return startMock({
    ...CLIENT_TEST_CONFIG,
    ...input,
    rateLimit: { ...CLIENT_TEST_CONFIG.rateLimit, ...input.rateLimit },
    events: { ...CLIENT_TEST_CONFIG.events, ...input.events }
  }, deps)
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

export async function control (m: { url: string }, method: string, path: string, body?: unknown): Promise<{ status: number, body: Json }> {
  const r = await mockControl(m, method, path, body)
  return { status: r.status, body: r.body as Json }
}

export async function setFaults (m: { url: string }, plan: FaultPlanInput): Promise<void> {
  const r = await control(m, 'PUT', '/__harness/faults', plan)
  if (r.status !== 200) throw new Error(`PUT /__harness/faults answered ${r.status}: ${JSON.stringify(r.body)}`)
}

export async function clearFaults (m: { url: string }): Promise<void> {
  await control(m, 'DELETE', '/__harness/faults')
}

/** POST /__harness/keys: a key of an existing tenant, e.g. with its own rateLimit (contract 2.3). */
export async function createKey (m: { url: string }, tenant: string, opts: { rateLimit?: number, scopes?: string[] } = {}): Promise<{ id: string, key: string }> {
  const r = await control(m, 'POST', '/__harness/keys', { tenant, ...opts })
  if (r.status !== 201) throw new Error(`POST /__harness/keys answered ${r.status}: ${JSON.stringify(r.body)}`)
  return r.body.data
}

/** POST /__harness/tenants: a fresh tenant (own event sequence, own wallets) and its first key. */
export async function createTenant (m: { url: string }, body: { slug?: string, rateLimit?: number } = {}): Promise<{ tenantId: string, slug: string, keyId: string, key: string }> {
  const r = await control(m, 'POST', '/__harness/tenants', body)
  if (r.status !== 201) throw new Error(`POST /__harness/tenants answered ${r.status}: ${JSON.stringify(r.body)}`)
  return { tenantId: r.body.data.tenant.id, slug: r.body.data.tenant.slug, keyId: r.body.data.key.id, key: r.body.data.key.key }
}

/** POST /__harness/events: publish one event; returns its sequence. */
export async function publish (m: { url: string }, tenant: string, type: string, data: unknown = {}): Promise<number> {
  const r = await control(m, 'POST', '/__harness/events', { tenant, type, data })
  if (r.status !== 201) throw new Error(`POST /__harness/events answered ${r.status}: ${JSON.stringify(r.body)}`)
  return r.body.data.seq
}

export interface RecordEntry {
  seq: number
  type: string
  ts: number
  [field: string]: Json
}

/** GET /__harness/record, NDJSON (contract 7.3/7.4). */
export async function readRecord (m: { url: string }, after = 0): Promise<RecordEntry[]> {
  const res = await fetch(`${m.url}/__harness/record?after=${after}`)
  if (res.status !== 200) throw new Error(`GET /__harness/record answered ${res.status}`)
  return (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l) as RecordEntry)
}

/** The last record sequence now, so a test can read only what it caused. */
export async function recordMark (m: { url: string }): Promise<number> {
  const res = await fetch(`${m.url}/__harness/record/stats`)
  const body = await res.json() as { data: { lastSeq: number } }
  return body.data.lastSeq
}

/** The request entries of one key after a mark. Arrival time = ts - durationMs (ts is written when the answer is done). */
export async function requestsOf (m: { url: string }, keyId: string, after = 0): Promise<Array<RecordEntry & { arrivedAt: number }>> {
  return (await readRecord(m, after))
    .filter((e) => e.type === 'request' && e.keyId === keyId)
    .map((e) => ({ ...e, arrivedAt: e.ts - (typeof e.durationMs === 'number' ? e.durationMs : 0) }))
}

/**
 * A tracer that records every span in memory (sdk-trace 3: TracerProvider({spanProcessors}), and
 * SimpleSpanProcessor({exporter}), whose export is asynchronous: spans() flushes first).
 */
export function memoryTracer (): { tracer: Tracer, spans: () => Promise<ReadableSpan[]>, reset: () => void, shutdown: () => Promise<void> } {
  const exporter = new InMemorySpanExporter()
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
  return {
    tracer: provider.getTracer('tenzro-client-test'),
    spans: async () => { await provider.forceFlush(); return exporter.getFinishedSpans() },
    reset: () => { exporter.reset() },
    shutdown: () => provider.shutdown()
  }
}

/** A logger that keeps every line as JSON text, the way pino would write it. */
export function memoryLogger (): { logger: ClientLogger, lines: string[] } {
  const lines: string[] = []
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => { lines.push(JSON.stringify({ level, ...obj, msg })) }
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines }
}

/** A seeded uniform generator in [0, 1) (mulberry32), for the client's `random` and for plan generation. */
export function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes (real sockets need real time). */
export async function waitUntil (check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * A fake clock: now() and a sleep that moves it forward to the sleeper's wake time (never back), so
 * retry and throttle tests take no real time. Give the same `now` to the mock (startMock deps) and its
 * record timestamps are on the same clock. Only for sequential callers: concurrent sleepers would drag
 * each other's requests forward in time.
 */
export function fakeTime (startMs = Date.UTC(2026, 5, 1, 0, 0, 0, 250)) {
  let t = startMs
  const sleeps: number[] = []
  return {
    now: () => t,
    sleeps,
    advance (ms: number) { t += ms },
    async sleep (ms: number) {
      sleeps.push(ms)
      const wake = t + ms
      if (wake > t) t = wake
    }
  }
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection (p: Promise<unknown>): Promise<TenzroApiError> {
  try {
    await p
  } catch (err) {
    return err as TenzroApiError
  }
  throw new Error('expected a rejection')
}
