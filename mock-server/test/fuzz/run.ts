// The hostile-input fuzz run, shared by the CI test (mock-server/test/fuzz.test.ts, 10,000+ cases on a
// fixed seed) and the longer bench (bench/fuzz.ts). It starts `tenzro-mock` as a real child process,
// sends property-based requests (fast-check) to every route, and holds each answer to the oracles:
// - no 5xx (but 501 for a method the API never uses), and the process stays up;
// - every answer is in the envelope (1.4 success or 1.5 error) with a code of contract 1.6, and its
//   status is the code's (or a documented HTTP-layer status: 405, 408, 413, 417, 431, 501);
// - X-Request-Id equals meta.requestId;
// - no answer (headers or body) and no log line holds a live canary key or any 12-char run of its secret;
// - every request is in the record exactly once.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { ERROR_CODES } from '../../src/errors.ts'

const BIN = fileURLToPath(new URL('../../../bin/tenzro-mock.js', import.meta.url))
const HTTP_LAYER_STATUS = new Set([405, 408, 413, 417, 431, 501])

export interface FuzzResult {
  cases: number
  sent: number
  statuses: Record<string, number>
  failures: string[]
  missingFromRecord: number
  alive: boolean
  leaks: string[]
}

interface Route { method: string, path: string, control?: boolean, stream?: boolean }
/** Every route of the mock (contract 1-4, 7.4), with `:param` where an id goes. */
export const ROUTES: Route[] = [
  { method: 'GET', path: '/health' },
  { method: 'GET', path: '/api/events/health' },
  { method: 'GET', path: '/api/wallet/list' },
  { method: 'POST', path: '/api/wallet/create' },
  { method: 'GET', path: '/api/events/stream', stream: true },
  ...['/api/keys', '/api/apikeys'].flatMap((p) => [
    { method: 'POST', path: p },
    { method: 'DELETE', path: `${p}/:id` },
    { method: 'GET', path: `${p}/tenant/:id` },
    { method: 'GET', path: `${p}/validate` }
  ]),
  { method: 'POST', path: '/__harness/tenants', control: true },
  { method: 'GET', path: '/__harness/tenants', control: true },
  { method: 'POST', path: '/__harness/keys', control: true },
  { method: 'DELETE', path: '/__harness/keys/:id', control: true },
  { method: 'GET', path: '/__harness/faults', control: true },
  { method: 'PUT', path: '/__harness/faults', control: true },
  { method: 'DELETE', path: '/__harness/faults', control: true },
  { method: 'GET', path: '/__harness/record/stats', control: true },
  { method: 'POST', path: '/__harness/events', control: true },
  { method: 'POST', path: '/__harness/reset', control: true }
]

interface Canary { key: string, secret: string, tenantId: string, id: string }

async function startChild (dir: string, unsafe: boolean): Promise<{ child: ChildProcess, url: string, logs: () => string, exited: () => boolean, recordFile: string }> {
  // Limits no fuzz run reaches, and no shedding: the oracles are about input, not load. The record is
  // also spilled to a file: a fuzzed POST /__harness/reset clears the in-memory one.
  const recordFile = join(dir, 'record.ndjson')
  const config = join(dir, 'config.json')
  writeFileSync(config, JSON.stringify({ record: { file: recordFile }, rateLimit: { limit: 1_000_000_000 }, overload: { enabled: false }, unsafeDisableRedaction: unsafe }))
  const child = spawn(process.execPath, [BIN, '--port', '0', '--config', config, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] })
  // Chunks, joined once at the end: searching a string built by += re-walks its rope every time.
  const chunks: Buffer[] = []
  let bytes = 0
  let gone = false
  child.stderr!.on('data', (c: Buffer) => { if (bytes < 256 * 1024 * 1024) { chunks.push(c); bytes += c.length } })
  const logs = () => Buffer.concat(chunks).toString('utf8')
  child.on('exit', () => { gone = true })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (c: Buffer) => {
      out += String(c)
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m !== null) resolve(m[1]!)
    })
    child.on('exit', (code) => { reject(new Error(`tenzro-mock exited ${code} before listening: ${logs().slice(0, 500)}`)) })
  })
  return { child, url, logs, exited: () => gone, recordFile }
}

function windowsOf (secret: string): string[] {
  const out: string[] = []
  for (let i = 0; i + 12 <= secret.length; i++) out.push(secret.slice(i, i + 12))
  return out
}

/** `unsafe`: redaction off (config.unsafeDisableRedaction), for the test that proves the leak oracle can fail. */
export async function runFuzz ({ numRuns, seed, concurrency = 8, unsafe = false }: { numRuns: number, seed: number, concurrency?: number, unsafe?: boolean }): Promise<FuzzResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tenzro-fuzz-'))
  const mock = await startChild(dir, unsafe)
  const post = async (path: string, body: unknown) => (await fetch(mock.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<{ data: { tenant: { id: string }, key: { id: string, key: string } } }>
  let canaries: Canary[] = []
  const makeCanaries = async () => {
    const fresh: Canary[] = []
    for (const scopes of [undefined, ['admin:*'], ['wallet:read']]) {
      const t = await post('/__harness/tenants', scopes === undefined ? {} : { scopes })
      const key = t.data.key.key
      fresh.push({ key, secret: key.slice(key.indexOf('_', 4) + 1), tenantId: t.data.tenant.id, id: t.data.key.id })
    }
    canaries = fresh
  }
  await makeCanaries()
  let windowsFor: Canary[] = []
  let windowsCache: string[] = []
  const allWindows = () => {
    if (windowsFor !== canaries) { windowsFor = canaries; windowsCache = canaries.flatMap((c) => windowsOf(c.secret)) }
    return windowsCache
  }
  const everWindows = new Set<string>(allWindows())

  const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 })
  const canary = fc.integer({ min: 0, max: 2 })
  // Values a hostile or careless client sends: random text, near-valid values, and the keys themselves.
  const value = fc.oneof(
    printable,
    fc.constantFrom('', '1', '0', '-1', '101', 'acme', 'ethereum', 'mpc', 'wallet.*', 'wallet.created', '>', '%', '%zz', 'null', 'true', '__proto__', 'constructor', 'key_0000000000000000'),
    canary.map((i) => ({ canary: i, part: 'key' as const })),
    fc.tuple(canary, fc.integer({ min: 0, max: 31 }), fc.integer({ min: 12, max: 24 })).map(([i, at, len]) => ({ canary: i, part: 'run' as const, at, len }))
  )
  type V = string | { canary: number, part: 'key' } | { canary: number, part: 'run', at: number, len: number }
  const show = (v: V): string => {
    if (typeof v === 'string') return v
    const c = canaries[v.canary]!
    return v.part === 'key' ? c.key : c.secret.slice(v.at, v.at + v.len)
  }
  const json = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.record({ name: value, type: value, chain: value, tenant: value, tenantId: value, scopes: fc.array(value, { maxLength: 3 }), data: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] }),
    fc.dictionary(value.map(show), value, { maxKeys: 4 }),
    fc.record({ faults: fc.array(fc.record({ id: value, type: fc.constantFrom('latency', 'sse-drop', 'tls-untrusted', 'nope'), ms: fc.integer({ min: -5, max: 5 }) }, { requiredKeys: [] }), { maxLength: 2 }) }),
    fc.integer({ min: 1, max: 400 }).map((n) => ({ deep: true, n }))
  )
  const body = fc.oneof(
    json.map((j) => {
      if (typeof j === 'object' && j !== null && (j as { deep?: boolean }).deep === true) {
        const n = (j as { n: number }).n
        return { type: 'application/json', text: '{"a":['.repeat(n) + ']}'.repeat(n) }
      }
      return { type: 'application/json', text: JSON.stringify(j, (_k, v) => (typeof v === 'object' && v !== null && 'canary' in v && 'part' in v ? show(v as V) : v)) }
    }),
    fc.record({ type: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', ''), text: printable })
  )
  const caseArb = fc.record({
    route: fc.integer({ min: 0, max: ROUTES.length - 1 }),
    // Mostly the route's own method and shape, sometimes another method or an extra path segment.
    method: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') }),
    param: value,
    extraSegment: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: value }),
    query: fc.array(fc.tuple(fc.constantFrom('limit', 'cursor', 'chain', 'subjects', 'last_event_id', 'after', 'api_key', 'x'), value), { maxLength: 3 }),
    auth: fc.constantFrom('tenant', 'tenant', 'tenant', 'admin', 'readonly', 'none', 'wrong'),
    headers: fc.array(fc.tuple(fc.constantFrom('x-idempotency-key', 'x-request-id', 'x-api-version', 'x-network', 'x-tenant-id', 'last-event-id', 'accept', 'x-harness-token', 'user-agent', 'x-forwarded-for'), value), { maxLength: 3 }),
    body: fc.option(body, { freq: 4 })
  })

  const statuses: Record<string, number> = {}
  const failures: string[] = []
  const leaks: string[] = []
  const ids: string[] = []
  let n = 0
  let sent = 0

  // The cases are drawn from the seed up front and sent 8 at a time: a fixed, replayable set, fast
  // enough for 10,000 per CI run. (A failure names the request; no shrinking, the mock is the oracle's.)
  const cases = fc.sample(caseArb, { numRuns, seed })
  async function one (c: typeof cases[number], index: number): Promise<void> {
    n++
    const route = ROUTES[c.route]!
    const method = c.method ?? route.method
    let path = route.path.replace(':id', encodeURIComponent(show(c.param as V)).slice(0, 200))
    if (c.extraSegment !== null) path += '/' + encodeURIComponent(show(c.extraSegment as V))
    const q = c.query.map(([k, v]) => `${k}=${encodeURIComponent(show(v as V))}`).join('&')
    const url = mock.url + path + (q === '' ? '' : '?' + q)
    const id = `fz-${seed}-${index + 1}`
    const h: Record<string, string> = {}
    const who = c.auth === 'admin' ? canaries[1]! : c.auth === 'readonly' ? canaries[2]! : canaries[0]!
    if (c.auth !== 'none') {
      const k = c.auth === 'wrong' ? who.key.slice(0, -4) + 'AAAA' : who.key
      if (path.startsWith('/api/keys') || path.startsWith('/api/apikeys')) h['x-admin-api-key'] = k
      h['x-api-key'] = k
      h['x-tenant-id'] = who.tenantId
    }
    for (const [k, v] of c.headers) if (k !== 'x-request-id') h[k] = show(v as V)
    h['x-request-id'] = id
    const init: RequestInit = { method, headers: h, signal: AbortSignal.timeout(10_000) }
    if (c.body !== null && method !== 'GET' && method !== 'HEAD') {
      init.body = c.body.text
      if (c.body.type !== '') h['content-type'] = c.body.type
    }
    let res: Response
    try {
      res = await fetch(url, init)
    } catch (err) {
      // The client refused to send it (an invalid header value): nothing reached the mock.
      if (err instanceof TypeError && !/fetch failed/.test(err.message)) return
      failures.push(`${method} ${path}: no answer (${(err as Error).message})`)
      return
    }
    sent++
    ids.push(id)
    statuses[res.status] = (statuses[res.status] ?? 0) + 1
    let text: string
    if (route.stream && res.status === 200 && method === 'GET') {
      // An open stream: its headers are the answer; close it.
      await res.body?.cancel()
      text = ''
    } else {
      text = await res.text()
    }
    const where = `${method} ${path}${q === '' ? '' : '?…'} -> ${res.status}`
    const headersText = JSON.stringify([...res.headers])
    for (const w of allWindows()) {
      if (text.includes(w) || headersText.includes(w)) {
        // A new key's own one showing (control API, key creation) is its answer, not an echo.
        if (!(res.status === 201 && text.includes('"key":"tnz_'))) leaks.push(`${where}: echoes part of a canary secret`)
        break
      }
    }
    // 501 is the documented answer to a method the API never uses (README, "HTTP limits"); nothing else may be 5xx.
    if (res.status >= 500 && !(res.status === 501 && (method === 'PATCH' || method === 'OPTIONS'))) failures.push(`${where}: ${text.slice(0, 200)}`)
    const rid = res.headers.get('x-request-id')
    if (rid === null) failures.push(`${where}: no X-Request-Id`)
    if (method === 'HEAD' || text === '' || (res.headers.get('content-type') ?? '').includes('ndjson')) return
    let parsed: { error?: { code: string, message: string, details: unknown[] }, data?: unknown, meta?: { requestId: string } }
    try { parsed = JSON.parse(text) } catch { failures.push(`${where}: not JSON: ${text.slice(0, 100)}`); return }
    if (res.status >= 400) {
      const code = parsed.error?.code as keyof typeof ERROR_CODES | undefined
      if (code === undefined || !(code in ERROR_CODES)) failures.push(`${where}: no documented code: ${text.slice(0, 200)}`)
      else if (ERROR_CODES[code] !== res.status && !HTTP_LAYER_STATUS.has(res.status)) failures.push(`${where}: code ${code} with status ${res.status}`)
      if (typeof parsed.error?.message !== 'string' || !Array.isArray(parsed.error.details)) failures.push(`${where}: not the error envelope`)
    } else if (!('data' in parsed) && !('valid' in parsed)) {
      failures.push(`${where}: not the success envelope`)
    }
    if (parsed.meta !== undefined && parsed.meta.requestId !== rid) failures.push(`${where}: meta.requestId ${parsed.meta.requestId} != X-Request-Id ${rid}`)
    // Keep the run meaningful: a fault plan set by a fuzzed body is cleared, and a reset gets fresh canaries.
    if (path === '/__harness/faults' && method === 'PUT' && res.status === 200) await fetch(mock.url + '/__harness/faults', { method: 'DELETE' })
    if (path === '/__harness/reset' && method === 'POST' && res.status === 200) { await makeCanaries(); for (const w of allWindows()) everWindows.add(w) }
  }
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < cases.length) {
      const i = next++
      await one(cases[i]!, i)
    }
  }))

  // Streams closed by the client are recorded when their response ends.
  await new Promise((resolve) => setTimeout(resolve, 300))
  const alive = !mock.exited() && (await fetch(mock.url + '/health').then((r) => r.status, () => 0)) === 200
  mock.child.kill('SIGTERM')
  await new Promise((resolve) => { if (mock.exited()) resolve(undefined); else mock.child.once('exit', resolve) })
  const record = readFileSync(mock.recordFile, 'utf8')
  rmSync(dir, { recursive: true, force: true })
  const seen = new Map<string, number>()
  for (const line of record.split('\n')) {
    const m = /"type":"request"[^\n]*?"requestId":"(fz-[^"]+)"/.exec(line)
    if (m !== null) seen.set(m[1]!, (seen.get(m[1]!) ?? 0) + 1)
  }
  const missing = ids.filter((id) => seen.get(id) !== 1)
  const missingFromRecord = missing.length
  if (missingFromRecord > 0) failures.push(`missing from the record: ${missing.slice(0, 5).join(', ')}`)
  const logs = mock.logs()
  // One pass: every run of secret characters in the log, each 12-char window of it looked up.
  scan: for (const m of logs.matchAll(/[A-Za-z0-9_-]{12,}/g)) {
    const run = m[0]
    for (let i = 0; i + 12 <= run.length; i++) {
      if (everWindows.has(run.slice(i, i + 12))) { leaks.push(`a log line holds part of a canary secret (${run.slice(i, i + 4)}…)`); break scan }
    }
  }
  return { cases: n, sent, statuses, failures, missingFromRecord, alive, leaks }
}
