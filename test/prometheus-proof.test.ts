// The metrics, dashboards and alert rules, proven on real data: the Debian `prometheus` (remote-write
// receiver on) scrapes a `tenzro-mock` process every second and evaluates dashboards/alerts; real k6
// runs two scenarios writing into it with `-o experimental-prometheus-rw`; the reference client meets
// every fault of the `quick` profile through `tenzro-harness verify`. Then every panel query of both
// dashboards is evaluated through the HTTP API, over the time of the run, with the Grafana variables
// substituted as Grafana would: a query that errors or returns no series fails the test. Also
// `promtool check config` on the configuration used and `promtool test rules` on the alert unit tests.
// The mock traces to an embedded OTLP receiver, so the exemplars Prometheus stores can be matched to
// traces the mock really exported.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOtlpReceiver, type OtlpReceiver } from '../harness/src/otlp/index.ts'
import { findK6 } from '../mock-server/test/helpers/binary.ts'
import { prometheusSkipReason, promtoolBinary, startPrometheus, type PrometheusServer } from '../mock-server/test/helpers/prometheus.ts'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..')
const RULES = join(ROOT, 'dashboards/alerts/tenzro-mock.yml')
const skip = prometheusSkipReason('the Prometheus proof') ?? findK6('the Prometheus proof').reason
const SCRAPE_S = 1
/** What Grafana makes of $__rate_interval for a 1 s scrape interval and a 1 s step: max(4 x scrape, step + scrape), rounded up. */
const RATE_INTERVAL = '5s'

interface Target { refId: string, expr?: string, datasource?: { uid: string } }
interface Panel { title: string, type: string, datasource: { type: string, uid: string }, targets?: Target[], panels?: Panel[] }
interface Variable { name: string, type: string, query: string | { query: string }, multi?: boolean, includeAll?: boolean, allValue?: string }
interface Dashboard { title: string, panels: Panel[], templating?: { list: Variable[] } }

let prom: PrometheusServer
let receiver: OtlpReceiver
let mock: ChildProcess | undefined
let mockUrl = ''
let start = 0
let end = 0
let workDir = ''
const runs: Record<string, { code: number | null, out: string }> = {}

/**
 * Start `tenzro-mock` on a free port, tracing to `otlpUrl` (so its latency histogram carries trace ids
 * as exemplars); resolves with its URL from the one line it prints.
 */
async function startMock (otlpUrl: string): Promise<string> {
  const env = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_SERVICE_NAME: 'tenzro-mock', OTEL_BSP_SCHEDULE_DELAY: '200' }
  const child = spawn(process.execPath, [join(ROOT, 'bin/tenzro-mock.js'), '--port', '0', '--log-level', 'warn', '--events-rate', '2'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  mock = child
  let err = ''
  child.stderr.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-4000) })
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tenzro-mock did not listen: ${err}`)), 15_000)
    child.stdout.on('data', (b: Buffer) => {
      const m = /listening on (http:\/\/\S+)/.exec(b.toString())
      if (m !== null) { clearTimeout(timer); resolve(m[1]!) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`tenzro-mock exited ${code}: ${err}`)) })
  })
}

function runProcess (name: string, cmd: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const keep = (b: Buffer) => { out = (out + b.toString()).slice(-6000) }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.once('exit', (code) => { runs[name] = { code, out }; resolve() })
  })
}

function k6 (script: string): Promise<void> {
  return runProcess(`k6 ${script}`, findK6().path!, ['run', '--quiet', '--tag', 'testid=proof', '-o', 'experimental-prometheus-rw', `scenarios/${script}`], {
    BASE_URL: mockUrl,
    CONTROL_URL: mockUrl,
    PROFILE: 'smoke',
    SUMMARY_DIR: workDir,
    K6_PROMETHEUS_RW_SERVER_URL: prom.writeUrl,
    K6_PROMETHEUS_RW_PUSH_INTERVAL: '1s',
    K6_PROMETHEUS_RW_TREND_STATS: 'p(50),p(95),p(99),max',
    K6_NO_USAGE_REPORT: 'true'
  })
}

function promConfig (mockHostPort: string): string {
  return [
    'global:',
    `  scrape_interval: ${SCRAPE_S}s`,
    `  evaluation_interval: ${SCRAPE_S}s`,
    'rule_files:',
    `  - ${JSON.stringify(RULES)}`,
    'scrape_configs:',
    '  - job_name: tenzro-mock',
    '    static_configs:',
    `      - targets: [${JSON.stringify(mockHostPort)}]`,
    ''
  ].join('\n')
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Prometheus-regex-escaped, as Grafana formats a multi-value variable for a Prometheus data source. */
function regexEscape (s: string): string {
  return s.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&')
}

function substitute (expr: string, vars: Map<string, string>): string {
  let out = expr
    .replaceAll('$__rate_interval', RATE_INTERVAL)
    .replaceAll('$__interval', `${SCRAPE_S}s`)
    .replaceAll('$__range', `${Math.max(1, Math.round(end - start))}s`)
  for (const [name, value] of vars) out = out.replaceAll('${' + name + '}', value).replaceAll('$' + name, value)
  return out
}

/** The value Grafana gives each template variable with "All" selected (label_values queries only). */
async function resolveVariables (d: Dashboard, problems: string[]): Promise<Map<string, string>> {
  const vars = new Map<string, string>()
  for (const v of d.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : v.query.query
    const m = /^label_values\((?:(.+),\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(q.trim())
    if (v.type !== 'query' || m === null) { problems.push(`${d.title}: variable ${v.name}: only label_values() queries are supported here (${q})`); continue }
    const params: Record<string, string | string[]> = { start: String(start), end: String(end) }
    if (m[1] !== undefined) params['match[]'] = substitute(m[1], vars)
    const values = await prom.api<string[]>(`/api/v1/label/${m[2]}/values`, params)
    if (values.length === 0) problems.push(`${d.title}: variable ${v.name} (${q}) found no values`)
    vars.set(v.name, v.includeAll === true && v.allValue !== undefined ? v.allValue : v.multi === true || v.includeAll === true ? `(${values.map(regexEscape).join('|')})` : values[0] ?? '')
  }
  return vars
}

function panelsOf (d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => (p.panels === undefined ? [p] : [p, ...p.panels]))
}

/** Every Prometheus target of a dashboard over the run: the problems found (errors, no series). */
async function checkDashboard (file: string): Promise<{ problems: string[], evaluated: number }> {
  const d = JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as Dashboard
  const problems: string[] = []
  const vars = await resolveVariables(d, problems)
  let evaluated = 0
  for (const p of panelsOf(d)) {
    if (p.type === 'row') continue
    const uid = p.datasource.uid
    if (uid === 'tempo') continue // traces, not a PromQL query
    if (uid !== 'prometheus') { problems.push(`${file} / ${p.title}: data source ${uid} is neither prometheus nor tempo`); continue }
    for (const t of p.targets ?? []) {
      if (t.expr === undefined || t.expr === '') { problems.push(`${file} / ${p.title} / ${t.refId}: no expr`); continue }
      const expr = substitute(t.expr, vars)
      evaluated++
      try {
        const data = await prom.queryRange(expr, start, end, SCRAPE_S)
        const points = data.result.reduce((n, s) => n + (s.values?.length ?? 0), 0)
        if (data.result.length === 0 || points === 0) problems.push(`${file} / ${p.title} / ${t.refId}: no series for ${expr}`)
      } catch (err) {
        problems.push(`${file} / ${p.title} / ${t.refId}: ${(err as Error).message}`)
      }
    }
  }
  return { problems, evaluated }
}

describe.skipIf(skip !== undefined)('metrics, dashboards and alert rules on a real Prometheus', () => {
  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'tenzro-proof-'))
    receiver = await createOtlpReceiver()
    mockUrl = await startMock(receiver.url)
    prom = await startPrometheus(promConfig(new URL(mockUrl).host))
    start = Math.floor(Date.now() / 1000)
    // A client that meets faults (the quick profile: every fault of contract 7.2, then the key revoked)
    // while k6 runs its SSE reconnect storm and its smoke test, both writing into Prometheus.
    const verify = runProcess('verify', process.execPath, [
      join(ROOT, 'bin/tenzro-harness.js'), 'verify', '--profile', 'quick', '--target', mockUrl, '--quiet',
      '--report-dir', join(workDir, 'verify'), '--', process.execPath, join(ROOT, 'examples/clients/good.ts')
    ], {})
    await k6('sse-reconnect.ts')
    await k6('smoke.ts')
    // A caller guessing keys, for the authentication panels and rules.
    for (let i = 0; i < 3; i++) await fetch(`${mockUrl}/api/wallet/list`, { headers: { 'x-api-key': `tnz_acme_${'GUESS'.repeat(9).slice(0, 43)}`, 'x-tenant-id': 'acme' } }).then((r) => r.text())
    await verify
    // The last scrape, remote-write push and rule evaluation.
    await sleep(3000)
    end = Math.ceil(Date.now() / 1000)
  }, 150_000)

  afterAll(async () => {
    await prom?.stop()
    await receiver?.close()
    if (mock !== undefined && mock.exitCode === null) {
      const exited = new Promise((resolve) => mock!.once('exit', resolve))
      mock.kill('SIGTERM')
      await exited
    }
    if (workDir !== '') await rm(workDir, { recursive: true, force: true })
  }, 30_000)

  it('ran real k6 and a client that met faults', () => {
    for (const [name, r] of Object.entries(runs)) expect(r.code, `${name}:\n${r.out}`).toBe(0)
    expect(Object.keys(runs).sort()).toEqual(['k6 smoke.ts', 'k6 sse-reconnect.ts', 'verify'])
  })

  it('scrapes the mock (OpenMetrics) without errors', async () => {
    const t = await prom.api<{ activeTargets: Array<{ labels: Record<string, string>, health: string, lastError: string }> }>('/api/v1/targets')
    const mine = t.activeTargets.filter((x) => x.labels.job === 'tenzro-mock')
    expect(mine).toHaveLength(1)
    expect(mine[0]!.lastError).toBe('')
    expect(mine[0]!.health).toBe('up')
  })

  it('holds the faults, throttling and stream activity the client met', async () => {
    const none: string[] = []
    for (const expr of [
      'sum(tenzro_mock_faults_applied_total)',
      'sum(tenzro_mock_rate_limited_total)',
      'sum(tenzro_mock_sse_drops_total{kind="fault"})',
      'sum(tenzro_mock_sse_reconnects_total)',
      'sum(tenzro_mock_sse_events_sent_total{delivery="duplicate"})',
      'sum(tenzro_mock_auth_attempts_total{outcome="refused"})',
      'sum(k6_sse_reconnects_total{testid="proof"})'
    ]) {
      const v = Number((await prom.query(expr, end)).result[0]?.value?.[1] ?? 0)
      if (!(v > 0)) none.push(`${expr} = ${v}`)
    }
    expect(none, `${none.join('\n')}\nverify:\n${runs.verify?.out ?? ''}`).toEqual([])
  })

  it('stores exemplars that name traces the mock really exported', async () => {
    const data = await prom.api<Array<{ seriesLabels: Record<string, string>, exemplars: Array<{ labels: Record<string, string>, value: string }> }>>('/api/v1/query_exemplars', {
      query: 'tenzro_mock_http_request_duration_seconds_bucket', start: String(start), end: String(end)
    })
    const traceIds = data.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id)).filter((t): t is string => t !== undefined)
    expect(traceIds.length).toBeGreaterThan(0)
    for (const t of traceIds) expect(t).toMatch(/^[0-9a-f]{32}$/)
    const exported = new Set(receiver.spans().map((s) => s.traceId))
    expect(traceIds.filter((t) => exported.has(t)).length).toBeGreaterThan(0)
  })

  for (const file of ['dashboards/mock.json', 'dashboards/k6-scenarios.json']) {
    it(`every panel query of ${file} returns series`, async () => {
      const { problems, evaluated } = await checkDashboard(file)
      expect(problems, problems.join('\n')).toEqual([])
      expect(evaluated).toBeGreaterThan(5)
    })
  }

  it('evaluates every rule without error, and every recording rule has data', async () => {
    const { groups } = await prom.api<{ groups: Array<{ name: string, rules: Array<{ name: string, type: string, query: string, health: string, lastError?: string }> }> }>('/api/v1/rules')
    const rules = groups.flatMap((g) => g.rules)
    expect(rules.length).toBeGreaterThanOrEqual(13)
    const problems: string[] = []
    for (const r of rules) {
      if (r.health !== 'ok') problems.push(`${r.name}: health ${r.health} ${r.lastError ?? ''}`)
      // Alert expressions are empty while nothing fires; the recorded signals they compare must have data.
      const expr = r.type === 'recording' ? r.name : r.query
      const data = await prom.queryRange(expr, start, end, SCRAPE_S)
      if (r.type === 'recording' && data.result.length === 0) problems.push(`${r.name}: no data over the run`)
    }
    expect(problems, problems.join('\n')).toEqual([])
    const alerts = await prom.api<{ alerts: Array<{ labels: Record<string, string> }> }>('/api/v1/alerts')
    expect(alerts.alerts.map((a) => a.labels.alertname)).not.toContain('TenzroMockDown')
  })

  it('passes promtool check config (with the rules) and the alert unit tests', async () => {
    const promtool = promtoolBinary()!
    const config = await run(promtool, ['check', 'config', join(prom.dir, 'prometheus.yml')])
    expect(config.stdout).toContain('SUCCESS')
    expect(config.stdout).toContain('SUCCESS: 13 rules found')
    const rules = await run(promtool, ['check', 'rules', RULES])
    expect(rules.stdout).toContain('SUCCESS')
    const tests = await run(promtool, ['test', 'rules', join(ROOT, 'dashboards/alerts/tests/tenzro-mock.test.yml')])
    expect(tests.stdout).toContain('SUCCESS')
  })
})
