// The harness's own output never carries the key it judges (house style principle 6, issue 6): a
// client leaks its canary key every way it can (stdout, stderr URL-encoded, a log file, a query
// string, a request body, a span attribute), the verdict says so, and then every file the harness
// wrote (report.json, junit.xml, report.html, the mock's log) and everything it printed is searched
// with the harness's own scanner (harness/src/scan): not one finding of the canary, in any encoding.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { main } from '../src/cli.ts'
import type { HarnessReport } from '../src/report/index.ts'
import { createLeakScanner } from '../src/scan/index.ts'

// The client under test: leaks on purpose, then idles until the harness stops it.
const LEAKY_CLIENT = `
import { writeFileSync, appendFileSync } from 'node:fs'
const [canaryFile, logFile] = process.argv.slice(2)
const key = process.env.TENZRO_API_KEY
const base = process.env.TENZRO_API_URL
const headers = { 'x-api-key': key, 'x-tenant-id': process.env.TENZRO_TENANT_ID, 'content-type': 'application/json' }
writeFileSync(canaryFile, key)
console.log(JSON.stringify({ msg: 'starting', apiKey: key }))
console.error('connecting with key=' + encodeURIComponent(key))
appendFileSync(logFile, 'debug: ' + Buffer.from(key).toString('base64') + '\\n')
await fetch(base + '/api/wallet/list?api_key=' + encodeURIComponent(key), { headers })
await fetch(base + '/api/wallet/create', { method: 'POST', headers, body: JSON.stringify({ name: 'leak', type: 'mpc', chain: 'ethereum', note: key }) })
const span = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'GET /api/wallet/list', kind: 3,
  startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000001000000',
  attributes: [{ key: 'url.full', value: { stringValue: base + '/api/wallet/list?api_key=' + key } }] }
await fetch(process.env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\\/$/, '') + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 'leaky' }, spans: [span] }] }] }) })
process.on('SIGTERM', () => process.exit(0))
setInterval(() => {}, 1000)
`

let work: string
let reports: string
let canary: string
let printed: string
let exitCode: number

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'self-scan-'))
  reports = join(work, 'reports')
  mkdirSync(reports)
  const client = join(work, 'leaky-client.mjs')
  writeFileSync(client, LEAKY_CLIENT)
  const logFile = join(work, 'client.log')
  let out = ''
  exitCode = await main(['verify', '--profile', 'calm', '--duration', '3', '--report-dir', reports, '--log-file', logFile, '--',
    process.execPath, client, join(work, 'canary.txt'), logFile], { out: (s) => { out += s }, err: (s) => { out += s }, color: true })
  printed = out
  canary = readFileSync(join(work, 'canary.txt'), 'utf8')
}, 30_000)

describe('the harness scanning its own output', () => {
  it('ran with a real canary key and failed the client for every leak', () => {
    expect(canary).toMatch(/^tnz_[a-z0-9]{1,32}_[A-Za-z0-9_-]{43}$/)
    expect(exitCode).toBe(1)
    const report = JSON.parse(readFileSync(join(reports, 'report.json'), 'utf8')) as HarnessReport
    const verdicts = Object.fromEntries(report.suites[0]!.checks.map((c) => [c.id, c]))
    expect(verdicts['auth/key-in-header']!.status).toBe('fail')
    const leak = verdicts['secrets/no-leak']!
    expect(leak.status).toBe('fail')
    const sources = leak.violations.map((v) => String(v.source))
    for (const s of ['stdout', 'stderr', `log:${join(work, 'client.log')}`, 'spans', 'request URL', 'request body']) expect(sources, s).toContain(s)
  })

  it('finds the canary where the client put it, so the search below can fail', () => {
    const scanner = createLeakScanner({ canaries: [canary], rules: [] })
    expect(scanner.scan(readFileSync(join(work, 'client.log')), 'client.log').length).toBeGreaterThan(0)
    expect(scanner.scan(`see ${encodeURIComponent(canary)}`, 'sample').length).toBeGreaterThan(0)
  })

  it('wrote no trace of the canary in any report, log or console line', async () => {
    const files = readdirSync(reports).sort()
    expect(files).toEqual(['audit.ndjson', 'client.stderr.log', 'client.stdout.log', 'junit.xml', 'mock.log', 'report.html', 'report.json'])
    expect(readFileSync(join(reports, 'mock.log'), 'utf8').split('\n').length).toBeGreaterThan(3)
    // The client's own output is kept, and what it leaked there is redacted, not dropped.
    expect(readFileSync(join(reports, 'client.stdout.log'), 'utf8') + readFileSync(join(reports, 'client.stderr.log'), 'utf8')).toMatch(/«redacted canary:0»/)
    const scanner = createLeakScanner({ canaries: [canary], rules: [] })
    const inFiles = await scanner.scanDir(reports)
    expect(inFiles.files).toBe(7)
    expect(inFiles.skipped).toEqual([])
    expect(inFiles.findings.map((f) => `${f.source}:${f.line} ${f.encoding} ${f.preview}`)).toEqual([])
    expect(printed).toMatch(/FAIL.*secrets\/no-leak/)
    expect(scanner.scan(printed, 'console').map((f) => `${f.line} ${f.encoding} ${f.preview}`)).toEqual([])
  })
})
