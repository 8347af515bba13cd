// Secrets never leave (contract 1.5, 2.7, 7.3; house style principle 6, layer 4), for every place a
// value from a request can reach: live canary keys, whole and as 14-char runs of their secret, are sent
// in every header, every path segment, every query parameter (name and value), every body field (name
// and value) and every control-API field, on routes that succeed and routes that refuse. Then the
// harness's own leak scanner (raw, URL-encoded, base64, base64url, hex, 12-char runs) searches every
// answer (status, headers, body), every log line, the record (API and spill file) and every span the
// mock exported: nothing. The same run with redaction off must be caught, or the search proves nothing.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { createOtlpReceiver } from '../../harness/src/otlp/index.ts'
import { createLeakScanner } from '../../harness/src/scan/index.ts'
import * as N from '../src/telemetry/names.ts'
import { control, startMock } from './helper.ts'

const dir = mkdtempSync(join(tmpdir(), 'tenzro-secrets-everywhere-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

const HEADERS = ['authorization', 'x-tenant-id', 'x-request-id', 'x-idempotency-key', 'x-api-version', 'x-network', 'last-event-id',
  'user-agent', 'accept', 'x-harness-token', 'x-forwarded-for', 'traceparent', 'tracestate', 'cookie', 'referer', 'x-admin-api-key', 'x-custom']
const QUERY = ['limit', 'cursor', 'chain', 'subjects', 'last_event_id', 'after', 'api_key']

async function run (unsafe: boolean): Promise<{ canaries: string[], corpus: Array<{ where: string, text: string }> }> {
  const file = join(dir, `record-${unsafe ? 'unsafe' : 'safe'}.ndjson`)
  const receiver = await createOtlpReceiver()
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'tenzro-mock-test' }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: receiver.tracesUrl }), scheduledDelayMillis: 20 })]
  })
  const m = await startMock({ logLevel: 'info', rateLimit: { limit: 1_000_000 }, unsafeDisableRedaction: unsafe, record: { file } }, { tracer: provider.getTracer(N.TRACER_NAME, N.TRACER_VERSION) })
  const corpus: Array<{ where: string, text: string }> = []
  // Live keys, created through the control API (their one showing is not part of the corpus).
  const mk = async (scopes?: string[]) => {
    const r = await control(m, 'POST', '/__harness/tenants', scopes === undefined ? {} : { scopes })
    return { key: r.body.data.key.key as string, tenantId: r.body.data.tenant.id as string }
  }
  const tenant = await mk()
  const admin = await mk(['admin:*'])
  const other = await mk(['wallet:read'])
  const canaries = [tenant.key, admin.key, other.key]
  const secretOf = (k: string) => k.slice(k.indexOf('_', 4) + 1)
  // Each canary whole, and two 14-char runs of its secret: what a careless client pastes.
  const values = canaries.flatMap((k) => [k, secretOf(k).slice(0, 14), secretOf(k).slice(20, 34)])
  const auth = { 'x-api-key': tenant.key, 'x-tenant-id': tenant.tenantId }
  const send = async (label: string, path: string, init: RequestInit = {}) => {
    let text: string
    try {
      const res = await fetch(m.url + path, { ...init, signal: AbortSignal.timeout(5000) })
      // A stream that opened: its headers are the answer.
      text = `${res.status} ${JSON.stringify([...res.headers])} ${(res.headers.get('content-type') ?? '').startsWith('text/event-stream') ? (await res.body?.cancel(), '') : await res.text()}`
    } catch (err) {
      text = `error ${(err as Error).name}`
    }
    corpus.push({ where: `answer to ${label}`, text })
  }
  const json = (o: unknown): RequestInit => ({ method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(o) })

  for (const [i, v] of values.entries()) {
    const e = encodeURIComponent(v)
    // Every header, on a read, a write and the stream.
    for (const h of HEADERS) {
      await send(`header ${h} (${i})`, '/api/wallet/list', { headers: { ...auth, [h]: v } })
      await send(`header ${h} on create (${i})`, '/api/wallet/create', { method: 'POST', headers: { ...auth, 'content-type': 'application/json', [h]: v }, body: JSON.stringify({ name: 'w', type: 'mpc', chain: 'ethereum' }) })
    }
    await send(`last-event-id on the stream (${i})`, '/api/events/stream', { headers: { ...auth, 'last-event-id': v } })
    // Every path segment.
    for (const p of [`/api/wallet/${e}`, `/api/keys/${e}`, `/api/keys/tenant/${e}`, `/api/apikeys/${e}`, `/__harness/keys/${e}`, `/${e}`, `/api/events/${e}/stream`]) {
      await send(`path ${p.replace(e, '<v>')} (${i})`, p, { method: p.startsWith('/api/keys/') || p.startsWith('/__harness/keys/') || p.startsWith('/api/apikeys/') ? 'DELETE' : 'GET', headers: { ...auth, 'x-admin-api-key': admin.key } })
    }
    // Every query parameter, as value and as name.
    for (const q of QUERY) {
      await send(`query ${q}=<v> (${i})`, `/api/wallet/list?${q}=${e}`, { headers: auth })
      await send(`query ${q}=<v> on the stream (${i})`, `/api/events/stream?${q}=${e}`, { headers: auth })
    }
    await send(`query name (${i})`, `/api/wallet/list?${e}=1`, { headers: auth })
    await send(`query on the record (${i})`, `/__harness/record?after=${e}`)
    // Every body field, as value and as name.
    await send(`body field name (${i})`, '/api/wallet/create', json({ name: 'w', type: 'mpc', chain: 'ethereum', [v]: 1 }))
    for (const f of ['name', 'type', 'chain']) await send(`body ${f} (${i})`, '/api/wallet/create', json({ name: 'w', type: 'mpc', chain: 'ethereum', [f]: v }))
    await send(`bad JSON carrying it (${i})`, '/api/wallet/create', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: `{"name":"${v}",` })
    await send(`text body (${i})`, '/api/wallet/create', { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: v })
    await send(`admin key body (${i})`, '/api/keys', { method: 'POST', headers: { 'x-admin-api-key': admin.key, 'content-type': 'application/json' }, body: JSON.stringify({ tenantId: v, name: v, [v]: 1 }) })
    // Every control-API field.
    const ctl = (path: string, method: string, body: unknown) => send(`control ${method} ${path} (${i})`, path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    await ctl('/__harness/tenants', 'POST', { slug: v, name: v, [v]: 1 })
    await ctl('/__harness/keys', 'POST', { tenant: v, name: v })
    await ctl('/__harness/keys', 'POST', { tenant: tenant.tenantId, name: v })
    await ctl('/__harness/faults', 'PUT', { faults: [{ id: v, type: 'latency', ms: 1 }] })
    await ctl('/__harness/faults', 'PUT', { faults: [{ type: 'latency', ms: 1, scope: { tenant: v, key: v, route: `/${v}` } }] })
    await ctl('/__harness/faults', 'PUT', { [v]: 1, faults: [] })
    await ctl('/__harness/events', 'POST', { tenant: v, type: v, data: {} })
    await ctl('/__harness/events', 'POST', { tenant: tenant.tenantId, type: 'wallet.created', data: { note: v } })
    await ctl('/__harness/events', 'POST', { tenant: tenant.tenantId, type: 'wallet.created', [v]: 1 })
  }
  await send('faults now', '/__harness/faults')
  await send('tenants now', '/__harness/tenants')
  await send('the record', '/__harness/record')
  await m.close()
  await provider.forceFlush()
  corpus.push({ where: 'spans', text: JSON.stringify(receiver.spans(), (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)) })
  await provider.shutdown()
  await receiver.close()
  for (const line of m.logs) corpus.push({ where: 'log line', text: line })
  corpus.push({ where: 'record file', text: readFileSync(file, 'utf8') })
  expect(receiver.spans().length).toBeGreaterThan(100)
  return { canaries, corpus }
}

function findings (canaries: string[], corpus: Array<{ where: string, text: string }>): string[] {
  const scanner = createLeakScanner({ canaries, rules: [] })
  const out: string[] = []
  for (const c of corpus) for (const f of scanner.scan(c.text, c.where)) out.push(`${c.where}: ${f.encoding} ${f.match} ${f.preview}`)
  return out
}

describe('canary keys in every place a request can carry them', () => {
  it('reach no answer, log line, record entry or span, whole, encoded or as a 12-char run', async () => {
    const { canaries, corpus } = await run(false)
    expect(corpus.length).toBeGreaterThan(500)
    expect(findings(canaries, corpus).slice(0, 20)).toEqual([])
  }, 120_000)

  it('are found when redaction is switched off, so the search above can fail', async () => {
    const { canaries, corpus } = await run(true)
    const found = findings(canaries, corpus)
    for (const c of canaries) expect(found.some((f) => f.startsWith('record file') || f.startsWith('log line')), c).toBe(true)
    expect(found.length).toBeGreaterThan(50)
  }, 120_000)
})
