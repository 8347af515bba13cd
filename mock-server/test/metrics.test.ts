// GET /metrics (plugins/metrics.ts, metrics/): what each request, refusal, fault and stream event
// adds, read back from the exposition the way Prometheus reads it; bounded labels; exemplars with the
// trace id when tracing is on; content negotiation; and the switch that turns it off.
import { afterEach, describe, expect, it } from 'vitest'
import { BatchSpanProcessor, InMemorySpanExporter, TracerProvider } from '@opentelemetry/sdk-trace'
import { control, fakeKey, headersFor, postJson, QUIET, startMock, type TestMock } from './helper.ts'
import { openRaw, type RawStream } from './helpers/sse.ts'
import type { MockConfigInput } from '../src/config.ts'
import type { AppDeps } from '../src/app.ts'
import type { MockContext } from '../src/context.ts'
import type { LimitDecision } from '../src/domain/limiter/types.ts'
import { createMockMetrics } from '../src/metrics/mock-metrics.ts'

const mocks: TestMock[] = []
const streams: RawStream[] = []
afterEach(async () => {
  for (const s of streams.splice(0)) s.close()
  for (const m of mocks.splice(0)) await m.close()
})

async function mock (input: MockConfigInput = {}, deps: AppDeps = {}): Promise<TestMock> {
  const m = await startMock({ ...QUIET, events: { heartbeatMs: 60_000 }, ...input }, deps)
  mocks.push(m)
  return m
}

const OPENMETRICS = 'application/openmetrics-text; version=1.0.0'

async function scrape (m: TestMock, accept?: string): Promise<string> {
  const res = await fetch(`${m.url}/metrics`, accept === undefined ? {} : { headers: { accept } })
  expect(res.status).toBe(200)
  return await res.text()
}

/** The value of one sample, by metric name and exact labels (in any order); 0 when absent. */
function sample (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line)
    if (m === null || m[1] !== name) continue
    const got: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[l[1]!] = l[2]!
    const keys = Object.keys(labels)
    if (keys.length === Object.keys(got).length && keys.every((k) => got[k] === labels[k])) return Number(m[3])
  }
  return undefined
}

const list = (m: TestMock, headers: Record<string, string> = headersFor(m.keys.acme)) => fetch(`${m.url}/api/wallet/list`, { headers }).then((r) => r.status)

describe('GET /metrics', () => {
  it('counts requests by route pattern, method, status and tenant, and times them by route', async () => {
    const m = await mock()
    for (let i = 0; i < 3; i++) expect(await list(m)).toBe(200)
    expect(await list(m, headersFor(m.keys.globex))).toBe(200)
    await fetch(`${m.url}/api/wallet/nothing-here`, { headers: headersFor(m.keys.acme) })
    const t = await scrape(m)
    expect(sample(t, 'tenzro_mock_http_requests_total', { route: '/api/wallet/list', method: 'GET', status: '200', tenant: 'acme' })).toBe(3)
    expect(sample(t, 'tenzro_mock_http_requests_total', { route: '/api/wallet/list', method: 'GET', status: '200', tenant: 'globex' })).toBe(1)
    // Unknown routes are not authenticated: they count under no tenant.
    expect(sample(t, 'tenzro_mock_http_requests_total', { route: 'unmatched', method: 'GET', status: '404', tenant: 'none' })).toBe(1)
    expect(sample(t, 'tenzro_mock_http_request_duration_seconds_count', { route: '/api/wallet/list', method: 'GET' })).toBe(4)
    expect(sample(t, 'tenzro_mock_http_request_duration_seconds_bucket', { route: '/api/wallet/list', method: 'GET', le: '+Inf' })).toBe(4)
    expect(sample(t, 'tenzro_mock_auth_attempts_total', { outcome: 'ok', code: 'ok', tenant: 'acme' })).toBe(3)
    expect(sample(t, 'tenzro_mock_info', { rate_limit_store: 'memory', events_backend: 'memory', algorithm: 'fixed-window' })).toBe(1)
    expect(sample(t, 'process_cpu_seconds_total')).toBeGreaterThan(0)
    expect(sample(t, 'tenzro_mock_record_entries', { state: 'capacity' })).toBe(100_000)
  })

  it('tells 429s apart by reason: key limit, tenant quota, burst fault, stream limit, refused reconnect', async () => {
    const m = await mock({ rateLimit: { limit: 2, maxStreamsPerKey: 1 }, tenants: [{ slug: 'acme' }, { slug: 'globex', quota: 1 }] })
    for (let i = 0; i < 3; i++) await list(m)
    for (let i = 0; i < 2; i++) await list(m, headersFor(m.keys.globex))
    const other = await control(m, 'POST', '/__harness/keys', { tenant: 'acme', rateLimit: 1000 })
    const k = { key: other.body.data.key as string, tenantId: m.keys.acme.tenantId }
    await control(m, 'PUT', '/__harness/faults', { faults: [{ type: 'rate-limit-burst', retryAfterS: 1, times: 1, scope: { route: 'GET /api/wallet/list' } }, { type: 'sse-reject', status: 429, times: 1 }] })
    expect(await list(m, headersFor(k))).toBe(429)
    const refused = await fetch(`${m.url}/api/events/stream`, { headers: headersFor(k) })
    expect(refused.status).toBe(429)
    await refused.text()
    const s = await openRaw(`${m.url}/api/events/stream`, headersFor(k))
    streams.push(s)
    const second = await fetch(`${m.url}/api/events/stream`, { headers: headersFor(k) })
    expect(second.status).toBe(429)
    await second.text()
    const t = await scrape(m)
    expect(sample(t, 'tenzro_mock_rate_limited_total', { reason: 'key_limit', tenant: 'acme' })).toBe(1)
    expect(sample(t, 'tenzro_mock_rate_limited_total', { reason: 'tenant_quota', tenant: 'globex' })).toBe(1)
    expect(sample(t, 'tenzro_mock_rate_limited_total', { reason: 'burst_fault', tenant: 'acme' })).toBe(1)
    expect(sample(t, 'tenzro_mock_rate_limited_total', { reason: 'sse_reject_fault', tenant: 'acme' })).toBe(1)
    expect(sample(t, 'tenzro_mock_rate_limited_total', { reason: 'stream_limit', tenant: 'acme' })).toBe(1)
    expect(sample(t, 'tenzro_mock_limiter_decisions_total', { decision: 'refused', scope: 'tenant', source: 'limiter' })).toBe(1)
    expect(sample(t, 'tenzro_mock_limiter_decisions_total', { decision: 'refused', scope: 'key', source: 'burst-fault' })).toBe(1)
    expect(sample(t, 'tenzro_mock_faults_applied_total', { fault: 'rate-limit-burst#0', type: 'rate-limit-burst' })).toBe(1)
    expect(sample(t, 'tenzro_mock_faults_applied_total', { fault: 'sse-reject#1', type: 'sse-reject' })).toBe(1)
  })

  it('counts authentication refusals by code, idempotency replays and conflicts, and faults by id', async () => {
    const m = await mock()
    await list(m, { 'x-api-key': fakeKey('acme', 'NOPE'), 'x-tenant-id': 'acme' })
    await list(m, { 'x-tenant-id': 'acme' })
    const wallet = { name: 'Ops', type: 'mpc', chain: 'ethereum' }
    const idem = { 'x-idempotency-key': 'metrics-1' }
    expect((await postJson(m, '/api/wallet/create', m.keys.acme, wallet, idem)).status).toBe(201)
    expect((await postJson(m, '/api/wallet/create', m.keys.acme, wallet, idem)).status).toBe(201)
    expect((await postJson(m, '/api/wallet/create', m.keys.acme, { ...wallet, name: 'Other' }, idem)).status).toBe(422)
    // A fault id that could be a key is refused with the plan, so it never becomes a label either.
    expect((await control(m, 'PUT', '/__harness/faults', { faults: [{ id: fakeKey('acme', 'FAULTID'), type: 'error', status: 500, times: 1 }] })).status).toBe(400)
    await control(m, 'PUT', '/__harness/faults', { faults: [{ id: 'slow-list', type: 'latency', ms: 5, times: 2 }, { id: 'boom', type: 'error', status: 500, times: 1 }] })
    await list(m)
    await list(m)
    await list(m)
    const t = await scrape(m)
    expect(sample(t, 'tenzro_mock_auth_attempts_total', { outcome: 'refused', code: 'invalid_api_key', tenant: 'acme' })).toBe(1)
    expect(sample(t, 'tenzro_mock_auth_attempts_total', { outcome: 'refused', code: 'missing_api_key', tenant: 'none' })).toBe(1)
    expect(sample(t, 'tenzro_mock_idempotency_requests_total', { outcome: 'stored' })).toBe(1)
    expect(sample(t, 'tenzro_mock_idempotency_requests_total', { outcome: 'replayed' })).toBe(1)
    expect(sample(t, 'tenzro_mock_idempotency_requests_total', { outcome: 'mismatch' })).toBe(1)
    expect(sample(t, 'tenzro_mock_faults_applied_total', { fault: 'slow-list', type: 'latency' })).toBe(2)
    expect(sample(t, 'tenzro_mock_faults_applied_total', { fault: 'boom', type: 'error' })).toBe(1)
    expect(t).not.toContain('FAULTID')
  })

  it('follows event streams: events by delivery, drops, reconnects with duplicates, gaps, stalls', async () => {
    const m = await mock({ events: { heartbeatMs: 60_000, capacity: 10 } })
    const tenantId = m.keys.acme.tenantId
    for (let i = 0; i < 12; i++) await m.app.mock.events.publish(tenantId, 'wallet.created', { i })
    // A resume from an id older than the window: stream.gap for 1..2, then 10 replayed events.
    const gap = await openRaw(`${m.url}/api/events/stream`, headersFor(m.keys.acme, { 'last-event-id': '0' }))
    streams.push(gap)
    await gap.waitFor((x) => x.events().length === 11, 3000, 'gap and ten events')
    gap.close()
    await control(m, 'PUT', '/__harness/faults', { faults: [{ id: 'cut', type: 'sse-drop', afterEvents: 1 }, { id: 'dup', type: 'sse-duplicate', count: 2 }, { id: 'hold', type: 'sse-stall', afterEvents: 0, durationMs: 50 }] })
    const s = await openRaw(`${m.url}/api/events/stream`, headersFor(m.keys.acme, { 'last-event-id': '11' }))
    streams.push(s)
    await s.ended
    await new Promise((resolve) => setTimeout(resolve, 50))
    const t = await scrape(m)
    expect(sample(t, 'tenzro_mock_sse_gaps_total', { tenant: 'acme' })).toBe(1)
    expect(sample(t, 'tenzro_mock_sse_gap_events_total', { tenant: 'acme' })).toBe(2)
    expect(sample(t, 'tenzro_mock_sse_events_sent_total', { tenant: 'acme', delivery: 'replay' })).toBe(10)
    expect(sample(t, 'tenzro_mock_sse_events_sent_total', { tenant: 'acme', delivery: 'duplicate' })).toBe(1)
    expect(sample(t, 'tenzro_mock_sse_drops_total', { tenant: 'acme', kind: 'fault' })).toBe(1)
    expect(sample(t, 'tenzro_mock_sse_reconnects_total', { tenant: 'acme', via: 'header' })).toBe(2)
    expect(sample(t, 'tenzro_mock_sse_stalls_total', { tenant: 'acme' })).toBe(1)
    expect(sample(t, 'tenzro_mock_sse_streams_opened_total', { tenant: 'acme', resumed: 'true' })).toBe(2)
    expect(sample(t, 'tenzro_mock_sse_streams_closed_total', { reason: 'fault' })).toBe(1)
    expect(sample(t, 'tenzro_mock_sse_streams_open')).toBe(0)
    expect(sample(t, 'tenzro_mock_sse_stream_duration_seconds_count')).toBe(2)
    expect(sample(t, 'tenzro_mock_faults_applied_total', { fault: 'cut', type: 'sse-drop' })).toBe(1)
    expect(sample(t, 'tenzro_mock_faults_applied_total', { fault: 'dup', type: 'sse-duplicate' })).toBe(1)
    expect(sample(t, 'tenzro_mock_faults_applied_total', { fault: 'hold', type: 'sse-stall' })).toBe(1)
  })

  it('shows zero, not nothing, for a tenant without 429s, gaps or drops', async () => {
    const m = await mock()
    await list(m)
    const t = await scrape(m)
    for (const reason of ['key_limit', 'tenant_quota', 'burst_fault', 'stream_limit', 'sse_reject_fault']) {
      expect(sample(t, 'tenzro_mock_rate_limited_total', { reason, tenant: 'acme' }), reason).toBe(0)
    }
    expect(sample(t, 'tenzro_mock_sse_gaps_total', { tenant: 'acme' })).toBe(0)
    expect(sample(t, 'tenzro_mock_sse_drops_total', { tenant: 'acme', kind: 'fault' })).toBe(0)
    expect(sample(t, 'tenzro_mock_idempotency_requests_total', { outcome: 'replayed' })).toBe(0)
  })

  it('caps tenant labels and never labels by request id, key id or tenant id', async () => {
    const m = await mock({ metrics: { maxTenants: 2 } })
    const made: Array<{ key: string, tenantId: string, keyId: string }> = []
    for (let i = 0; i < 4; i++) {
      const r = await control(m, 'POST', '/__harness/tenants', {})
      made.push({ key: r.body.data.key.key, tenantId: r.body.data.tenant.id, keyId: r.body.data.key.id })
    }
    for (const k of made) await list(m, headersFor(k, { 'x-request-id': `req-metrics-${k.keyId}` }))
    const t = await scrape(m)
    const tenants = new Set([...t.matchAll(/tenzro_mock_http_requests_total\{[^}]*tenant="([^"]*)"/g)].map((x) => x[1]))
    expect(tenants.size).toBeLessThanOrEqual(4) // two own labels, 'other', 'none'
    expect(tenants).toContain('other')
    expect(sample(t, 'tenzro_mock_http_requests_total', { route: '/api/wallet/list', method: 'GET', status: '200', tenant: 'other' })).toBe(2)
    for (const k of made) {
      expect(t).not.toContain(k.keyId)
      expect(t).not.toContain(k.tenantId)
      // The secret is everything after the tenant segment (it may itself hold '_').
      expect(t).not.toContain(k.key.split('_').slice(2).join('_').slice(0, 12))
    }
    expect(t).not.toContain('req-metrics')
  })

  it('answers OpenMetrics when asked, with the trace id as exemplar when tracing is on', async () => {
    const exporter = new InMemorySpanExporter()
    const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 10 })] })
    const m = await mock({}, { tracer: provider.getTracer('metrics-test') })
    expect(await list(m)).toBe(200)
    const res = await fetch(`${m.url}/metrics`, { headers: { accept: OPENMETRICS } })
    expect(res.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8')
    const t = await res.text()
    expect(t.endsWith('# EOF\n')).toBe(true)
    expect(t).toContain('# TYPE tenzro_mock_http_requests counter')
    await provider.forceFlush()
    const server = exporter.getFinishedSpans().find((s) => s.attributes['http.route'] === '/api/wallet/list')
    expect(server).toBeDefined()
    const traceId = server!.spanContext().traceId
    const line = t.split('\n').find((l) => l.startsWith('tenzro_mock_http_request_duration_seconds_bucket{route="/api/wallet/list"') && l.includes('# {'))
    expect(line).toContain(`# {trace_id="${traceId}"}`)
    // The plain text format carries no exemplars (Prometheus text 0.0.4 has none).
    const plain = await fetch(`${m.url}/metrics`)
    expect(plain.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(await plain.text()).not.toContain('trace_id')
    await provider.shutdown()
  })

  it('is public and never rate limited, and is absent when metrics are off', async () => {
    const m = await mock({ rateLimit: { limit: 1 } })
    for (let i = 0; i < 3; i++) expect((await fetch(`${m.url}/metrics`)).status).toBe(200)
    const off = await mock({ metrics: { enabled: false } })
    const res = await fetch(`${off.url}/metrics`)
    expect(res.status).toBe(404)
    expect((await res.json() as { error: { code: string } }).error.code).toBe('not_found')
  })
})

describe('the series a request adds to (metrics/mock-metrics.ts requestSeries)', () => {
  it('counts every label combination exactly, past the remembered ones and interleaved, as a recount does', async () => {
    // A fake context: tenants t0..t19 whose slug is their id; nothing else is read for request entries.
    const ctx = {
      keys: { tenant: (id: string) => (/^t\d+$/.test(id) ? { slug: id } : undefined) },
      record: { stats: () => ({ retained: 0, capacity: 1, dropped: 0 }) },
      config: { rateLimit: { store: 'memory', algorithm: 'fixed-window' }, events: { backend: 'memory' } },
      faults: { stats: () => [] }
    } as unknown as MockContext
    const metrics = createMockMetrics({ context: () => ctx, maxTenants: 100 })
    const routes = ['/api/wallet/list', '/api/wallet/create', null]
    const statuses = [200, 401, 429, 500]
    const auths = ['ok', 'refused', null]
    const codes = ['invalid_api_key', 'missing_api_key', null]
    const limits: Array<Partial<LimitDecision> | undefined> = [undefined, { allowed: true }, { allowed: false }, { allowed: false, scope: 'tenant' }, { allowed: false, source: 'burst-fault' }, { allowed: false, source: 'store-unavailable' }]
    const want = new Map<string, number>()
    const add = (k: string) => want.set(k, (want.get(k) ?? 0) + 1)
    // mulberry32: a seeded order, the same every run.
    let x = 12345
    const pick = <T> (xs: readonly T[]): T => {
      x = (x + 0x6d2b79f5) | 0
      let r = Math.imul(x ^ (x >>> 15), 1 | x)
      r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
      return xs[Math.floor((((r ^ (r >>> 14)) >>> 0) / 4294967296) * xs.length)]!
    }
    // Far more than MAX_COMBINATIONS per route, in a shuffled order, each seen many times.
    for (let i = 0; i < 20_000; i++) {
      const route = pick(routes)
      const method = pick(['GET', 'POST'])
      const status = pick(statuses)
      const tenant = `t${pick([...Array(20).keys()])}`
      const auth = pick(auths)
      const code = pick(codes)
      const rl = pick(limits)
      metrics.observe('request', { route, method, status, tenant, auth, code, durationMs: 0.3, traceId: null }, { rateLimit: rl })
      const r = route ?? 'unmatched'
      add(`requests ${r} ${method} ${status} ${tenant}`)
      add(`duration ${r} ${method}`)
      if (auth === 'ok') add(`auth ok ok ${tenant}`)
      if (auth === 'refused') add(`auth refused ${code ?? 'unknown'} ${tenant}`)
      if (rl !== undefined) {
        const source = rl.source ?? 'limiter'
        add(`limiter ${rl.allowed === true ? 'allowed' : source === 'store-unavailable' ? 'unavailable' : 'refused'} ${rl.scope ?? 'key'} ${source}`)
      }
    }
    const t = (await metrics.scrape(undefined)).body
    let checked = 0
    for (const [k, n] of want) {
      const [family, ...v] = k.split(' ')
      const got = family === 'requests'
        ? sample(t, 'tenzro_mock_http_requests_total', { route: v[0]!, method: v[1]!, status: v[2]!, tenant: v[3]! })
        : family === 'duration'
          ? sample(t, 'tenzro_mock_http_request_duration_seconds_count', { route: v[0]!, method: v[1]! })
          : family === 'auth'
            ? sample(t, 'tenzro_mock_auth_attempts_total', { outcome: v[0]!, code: v[1]!, tenant: v[2]! })
            : sample(t, 'tenzro_mock_limiter_decisions_total', { decision: v[0]!, scope: v[1]!, source: v[2]! })
      expect(got, k).toBe(n)
      checked++
    }
    // Every combination was met (3 x 2 x 4 x 20 request series alone), and no series was counted that the recount has not.
    expect(checked).toBeGreaterThan(480)
    const requestSeries = t.split('\n').filter((l) => l.startsWith('tenzro_mock_http_requests_total{'))
    expect(requestSeries.length).toBe([...want.keys()].filter((k) => k.startsWith('requests ')).length)
  })
})
