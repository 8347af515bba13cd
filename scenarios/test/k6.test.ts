// Every scenario on a real k6 (findK6: K6, PATH, or ../shared/tools/k6/k6) against real mocks: the
// exit code, the JUnit and JSON reports handleSummary writes, and that no API key reaches any of them
// or k6's output. The runs go concurrently (the longest, load's 30 s smoke, sets the wall time); each
// test awaits its own. Mocks that get a fault plan are one per run: a plan is per mock.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SaxesParser } from 'saxes'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createLeakScanner, encodeLeak } from '../../harness/src/scan/index.ts'
import { control, startMock, type TestMock } from '../../mock-server/test/helper.ts'
import { findK6 } from '../../mock-server/test/helpers/binary.ts'
import type { SummaryReport } from '../lib/summary.ts'
import { SCENARIOS_DIR, startMockProcess } from './helper.ts'

const k6 = findK6('the scenarios on real k6')
const SCRIPTS = ['idempotency', 'load', 'rate-limit-probe', 'smoke', 'sse-reconnect'] as const
type Script = typeof SCRIPTS[number]
const TOKEN = 'k6-test-harness-token'
/** Concurrent k6 processes: enough that load's 30 s hides the rest, few enough for two shared cores. */
const PARALLEL = 6
/**
 * Latency budgets x10: these runs judge what the scripts do and report, not the mock's speed, on a
 * shared 2-core machine where a smoke's p(95) of three requests is its slowest one. The thresholds are
 * still evaluated and reported; the latency itself is the benchmarks' business.
 */
const LATENCY_SCALE = '10'

interface K6Result { code: number | null, stdout: string, stderr: string, dir: string, ms: number }

let running = 0
const queue: Array<() => void> = []
async function slot<T> (fn: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((resolve) => queue.push(resolve))
  running++
  try {
    return await fn()
  } finally {
    running--
    queue.shift()?.()
  }
}

/** `k6 <args>` with only PATH, HOME and `env` in its environment (k6 copies the environment into __ENV). */
function k6Run (args: string[], env: Record<string, string>, cwd: string): Promise<K6Result> {
  return slot(() => new Promise<K6Result>((resolve, reject) => {
    const started = Date.now()
    const child = spawn(k6.path!, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? cwd, K6_NO_USAGE_REPORT: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr, dir: cwd, ms: Date.now() - started }))
  }))
}

interface XmlNode { name: string, attrs: Record<string, string>, children: XmlNode[] }

/** Parse with saxes, a conforming XML 1.0 parser: anything not well-formed throws. */
function parseXml (xml: string): XmlNode {
  const parser = new SaxesParser()
  const stack: XmlNode[] = []
  let root: XmlNode | undefined
  parser.on('error', (e) => { throw e })
  parser.on('opentag', (t) => {
    const node: XmlNode = { name: t.name, attrs: t.attributes as Record<string, string>, children: [] }
    if (stack.length === 0) root = node
    else stack[stack.length - 1]!.children.push(node)
    stack.push(node)
  })
  parser.on('closetag', () => { stack.pop() })
  parser.write(xml).close()
  if (root === undefined) throw new Error('no root element')
  return root
}

const base = mkdtempSync(join(tmpdir(), 'k6-scenarios-'))
let n = 0
function workDir (name: string): string {
  const d = join(base, `${++n}-${name}`)
  mkdirSync(d)
  return d
}

describe.skipIf(k6.path === undefined)(`the scenarios on real k6 (${k6.path ?? 'not found'} v${k6.version ?? '?'})`, () => {
  const mocks: TestMock[] = []
  const processes: Array<{ stop: () => Promise<void> }> = []
  /** Every full key any mock handed out during the run, the ones k6 made through the control API too. */
  const keys: string[] = []
  const madeForK6: string[] = []
  const runs = new Map<string, Promise<K6Result>>()
  const declared = new Map<Script, Promise<{ thresholds: string[], totalS: number }>>()
  let probeKey = ''
  let withToken: TestMock

  async function mock (input: Parameters<typeof startMock>[0] = {}): Promise<TestMock> {
    const m = await startMock({ logLevel: 'silent', ...input })
    // Spy on key creation: the control API hands keys to k6 that the test never sees otherwise.
    const create = m.app.mock.keys.createKey.bind(m.app.mock.keys)
    m.app.mock.keys.createKey = (...a: Parameters<typeof create>) => {
      const made = create(...a)
      keys.push(made.key)
      madeForK6.push(made.key)
      return made
    }
    keys.push(m.keys.acme.key, m.keys.globex.key)
    mocks.push(m)
    return m
  }

  function start (id: string, script: Script, env: Record<string, string>, opts: { summaryDir?: boolean } = {}): void {
    const dir = workDir(id)
    const summary: Record<string, string> = {}
    if (opts.summaryDir === true) {
      mkdirSync(join(dir, 'reports'))
      summary.SUMMARY_DIR = 'reports'
    }
    // k6's own end-of-test export, beside the reports: the independent account the reports are held to.
    runs.set(id, k6Run(['run', '--quiet', '--summary-export', join(dir, 'export.json'), join(SCENARIOS_DIR, `${script}.ts`)], { PROFILE: 'smoke', LATENCY_SCALE, ...summary, ...env }, dir))
  }

  async function run (id: string): Promise<K6Result> {
    const r = runs.get(id)
    if (r === undefined) throw new Error(`no run ${id}`)
    return await r
  }

  beforeAll(async () => {
    // Two-second windows: the probe waits out one window per cycle.
    const rl = { rateLimit: { windowMs: 2000 } }
    let shared: TestMock, sse: TestMock, sseDup: TestMock, probes: TestMock
    ;[withToken, shared, sse, sseDup, probes] = await Promise.all([
      mock({ ...rl, controlToken: TOKEN }), mock(rl), mock(rl), mock(rl), mock(rl)
    ])
    // The over-admit mock is the command users run, on a free port.
    const overAdmit = await startMockProcess(['--rate-limit-window-ms', '2000'])
    processes.push(overAdmit)
    const own = await control(shared, 'POST', '/__harness/tenants', {})
    const probe = await control(probes, 'POST', '/__harness/tenants', { rateLimit: 20 })
    probeKey = probe.body.data.key.key as string
    keys.push(own.body.data.key.key as string, probeKey)
    const faults = await fetch(overAdmit.url + '/__harness/faults', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ faults: [{ type: 'over-admit', share: 0.2 }] }) })
    expect(faults.status).toBe(200)

    // Longest first, so the short runs fill the other slots.
    start('load with CONTROL_URL', 'load', { BASE_URL: shared.url, CONTROL_URL: shared.url })
    start('load with API_KEY', 'load', { BASE_URL: shared.url, API_KEY: shared.keys.globex.key })
    start('smoke with CONTROL_URL and HARNESS_TOKEN', 'smoke', { BASE_URL: withToken.url, CONTROL_URL: withToken.url, HARNESS_TOKEN: TOKEN }, { summaryDir: true })
    start('smoke with API_KEY', 'smoke', { BASE_URL: shared.url, API_KEY: shared.keys.acme.key })
    start('idempotency with CONTROL_URL', 'idempotency', { BASE_URL: shared.url, CONTROL_URL: shared.url })
    start('idempotency with API_KEY', 'idempotency', { BASE_URL: shared.url, API_KEY: own.body.data.key.key as string, TENANT_ID: own.body.data.tenant.id as string })
    start('rate-limit-probe with CONTROL_URL', 'rate-limit-probe', { BASE_URL: probes.url, CONTROL_URL: probes.url })
    start('rate-limit-probe with API_KEY', 'rate-limit-probe', { BASE_URL: probes.url, API_KEY: probeKey })
    start('sse-reconnect with CONTROL_URL', 'sse-reconnect', { BASE_URL: sse.url, CONTROL_URL: sse.url, RECONNECT_DELAY_MS: '50' })
    start('rate-limit-probe against over-admit', 'rate-limit-probe', { BASE_URL: overAdmit.url, CONTROL_URL: overAdmit.url })
    start('sse-reconnect against sse-duplicate', 'sse-reconnect', { BASE_URL: sseDup.url, CONTROL_URL: sseDup.url, RECONNECT_DELAY_MS: '50', EXTRA_FAULTS: '[{"type":"sse-duplicate","count":2}]' })
    start('stop: target down', 'smoke', { BASE_URL: 'http://127.0.0.1:1' })
    start('stop: key refused', 'smoke', { BASE_URL: shared.url, API_KEY: 'tnz_acme_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAK' })
    start('stop: no key, no control API', 'load', { BASE_URL: shared.url })
    start('stop: sse-reconnect without control API', 'sse-reconnect', { BASE_URL: shared.url, API_KEY: shared.keys.acme.key })
    start('stop: wrong control token', 'smoke', { BASE_URL: withToken.url, CONTROL_URL: withToken.url, HARNESS_TOKEN: 'not-the-token' })
    for (const s of SCRIPTS) {
      // k6's own reading of the options: thresholds as k6 parsed them, and the run's length.
      declared.set(s, k6Run(['inspect', '--execution-requirements', '-e', 'PROFILE=smoke', '-e', `LATENCY_SCALE=${LATENCY_SCALE}`, join(SCENARIOS_DIR, `${s}.ts`)], {}, base).then((r) => {
        if (r.code !== 0) throw new Error(`k6 inspect ${s}.ts exited ${r.code}: ${r.stderr}`)
        const o = JSON.parse(r.stdout) as { thresholds: Record<string, Array<string | { threshold: string }>>, totalDuration: string }
        return {
          thresholds: Object.entries(o.thresholds).flatMap(([m, list]) => list.map((t) => `${m} ${typeof t === 'string' ? t : t.threshold}`)).sort(),
          totalS: durationS(o.totalDuration)
        }
      }))
    }
  }, 60_000)

  afterAll(async () => {
    await Promise.allSettled([...runs.values()])
    await Promise.all([...mocks.map((m) => m.close()), ...processes.map((p) => p.stop())])
    rmSync(base, { recursive: true, force: true })
  })

  function filesOf (r: K6Result, script: Script, sub = ''): { json: SummaryReport, junit: XmlNode, raw: string[] } {
    const dir = join(r.dir, sub)
    const names = readdirSync(dir).filter((f) => f.startsWith('k6-')).sort()
    expect(names, `files in ${dir}`).toEqual([`k6-${script}-junit.xml`, `k6-${script}-summary.json`])
    const jsonText = readFileSync(join(dir, `k6-${script}-summary.json`), 'utf8')
    const xmlText = readFileSync(join(dir, `k6-${script}-junit.xml`), 'utf8')
    return { json: JSON.parse(jsonText) as SummaryReport, junit: parseXml(xmlText), raw: [jsonText, xmlText] }
  }

  /** Leak search over everything the run left: both reports, stdout and stderr. */
  function expectNoKey (r: K6Result, raw: string[], extra: string[] = []): void {
    expect(keys.length).toBeGreaterThan(2)
    const scanner = createLeakScanner({ canaries: [...new Set([...keys, ...extra])], rules: [] })
    const found = [...raw.map((t, i) => [t, `report ${i}`] as const), [r.stdout, 'stdout'] as const, [r.stderr, 'stderr'] as const]
      .flatMap(([text, source]) => scanner.scan(text, source).map((f) => `${f.source}:${f.line} ${f.encoding} ${f.preview}`))
    expect(found).toEqual([])
  }

  function suites (junit: XmlNode): Record<string, XmlNode[]> {
    expect(junit.name).toBe('testsuites')
    const out: Record<string, XmlNode[]> = {}
    for (const s of junit.children) {
      expect(s.name).toBe('testsuite')
      const cases = s.children.filter((c) => c.name === 'testcase')
      expect(Number(s.attrs.tests), s.attrs.name).toBe(cases.length)
      expect(Number(s.attrs.failures), s.attrs.name).toBe(cases.filter(failedCase).length)
      out[s.attrs.name!.replace(/^k6 \S+ /, '')] = cases
    }
    return out
  }

  /** k6's --summary-export: threshold verdicts (`true` = crossed) and checks, groups as maps. */
  function k6Export (r: K6Result) {
    interface G { checks?: Record<string, { name: string, path: string, passes: number, fails: number }>, groups?: Record<string, G> }
    const e = JSON.parse(readFileSync(join(r.dir, 'export.json'), 'utf8')) as { metrics: Record<string, { thresholds?: Record<string, boolean> }>, root_group: G }
    const crossed = new Map<string, boolean>()
    for (const [m, v] of Object.entries(e.metrics)) for (const [src, failed] of Object.entries(v.thresholds ?? {})) crossed.set(`${m} ${src}`, failed)
    const checks: Array<{ name: string, path: string, passes: number, fails: number }> = []
    const walk = (g: G) => { checks.push(...Object.values(g.checks ?? {})); Object.values(g.groups ?? {}).forEach(walk) }
    walk(e.root_group)
    return { crossed, checks }
  }

  const failedCase = (c: XmlNode) => c.children.some((x) => x.name === 'failure')

  /** What every run that ends its iterations must show, passing or not. */
  async function expectReports (id: string, script: Script, sub = '') {
    const r = await run(id)
    const { json, junit, raw } = filesOf(r, script, sub)
    const { thresholds } = await declared.get(script)!
    const k6Says = k6Export(r)
    // Every threshold of the script, as k6 parsed it, is in the JSON and is one JUnit testcase,
    // failing exactly when k6 says it was crossed.
    expect([...k6Says.crossed.keys()].sort()).toEqual(thresholds)
    expect(json.thresholds.map((t) => `${t.metric} ${t.expression}`).sort()).toEqual(thresholds)
    const byName = suites(junit)
    expect(byName.thresholds!.map((c) => c.attrs.name).sort()).toEqual(thresholds)
    for (const c of byName.thresholds!) expect(failedCase(c), c.attrs.name).toBe(k6Says.crossed.get(c.attrs.name!))
    // One testcase per check k6 counted, in the group k6 put it, failing when k6 counted a failure.
    expect(k6Says.checks.length).toBeGreaterThan(0)
    const caseOf = (c: { name: string, path?: string }) => `${['k6', script, 'checks', ...(c.path ?? '').split('::').slice(1, -1).filter(Boolean)].join('.')} ${c.name}`
    expect(byName.checks!.map((c) => `${c.attrs.classname} ${c.attrs.name}`).sort()).toEqual(k6Says.checks.map(caseOf).sort())
    for (const c of k6Says.checks) {
      expect(failedCase(byName.checks!.find((x) => `${x.attrs.classname} ${x.attrs.name}` === caseOf(c))!), c.name).toBe(c.fails > 0)
      expect(json.checks.find((x) => x.path === c.path), c.name).toMatchObject({ passes: c.passes, fails: c.fails })
    }
    expect(json).toMatchObject({ scenario: script, profile: 'smoke' })
    expect(json.iterations).toBeGreaterThan(0)
    expectNoKey(r, raw)
    return { r, json, byName }
  }

  async function expectPass (id: string, script: Script, sub = '') {
    const out = await expectReports(id, script, sub)
    expect(out.r.code, `${id} exited ${out.r.code}\n${out.r.stderr.slice(-3000)}\n${out.r.stdout}`).toBe(0)
    expect(out.json.passed).toBe(true)
    expect(out.json.thresholds.filter((t) => t.status === 'fail')).toEqual([])
    expect(out.json.checks.filter((c) => c.fails > 0)).toEqual([])
    expect(out.r.stdout).toContain(`k6 scenario ${script} (PROFILE=smoke): PASSED`)
    return out
  }

  const T = 150_000

  test('smoke, with CONTROL_URL behind a control token: every endpoint and the event stream, reports in SUMMARY_DIR', async () => {
    const { json } = await expectPass('smoke with CONTROL_URL and HARNESS_TOKEN', 'smoke', 'reports')
    expect(json.checks.map((c) => c.name)).toContain('the stream replays every event after last_event_id (contract 4.4)')
    expect(json.thresholds.filter((t) => t.status === 'skipped')).toEqual([])
    // teardown put the fault plan back.
    expect((await control(withToken, 'GET', '/__harness/faults', undefined, TOKEN)).body).toMatchObject({ data: { faults: [] } })
  }, T)

  test('smoke with only API_KEY: the stream is seen to open through the client timeout, reports in the working directory', async () => {
    const { json } = await expectPass('smoke with API_KEY', 'smoke')
    expect(json.checks.find((c) => c.name === 'the event stream opens with retry: <ms> (contract 4.1, 4.3)')).toMatchObject({ passes: 1, fails: 0 })
  }, T)

  test.each(['with CONTROL_URL', 'with API_KEY'])('idempotency %s: concurrent duplicates with one key make one wallet', async (how) => {
    const { json } = await expectPass(`idempotency ${how}`, 'idempotency')
    expect(json.metrics.idem_keys_checked!.values.count).toBeGreaterThan(0)
    expect(json.metrics.idem_extra_resources!.values.count).toBe(0)
  }, T)

  test.each(['with CONTROL_URL', 'with API_KEY'])('rate-limit-probe %s: the mock admits exactly the limit per window', async (how) => {
    const { json } = await expectPass(`rate-limit-probe ${how}`, 'rate-limit-probe')
    expect(json.metrics.rl_windows_checked!.values.count).toBeGreaterThan(0)
  }, T)

  test('sse-reconnect: every event arrives once across reconnects', async () => {
    const { json } = await expectPass('sse-reconnect with CONTROL_URL', 'sse-reconnect')
    expect(json.metrics.sse_reconnects!.values.count).toBeGreaterThan(0)
    expect(json.metrics.sse_events!.values.count).toBeGreaterThan(0)
  }, T)

  test.each(['with CONTROL_URL', 'with API_KEY'])('load %s: the open-model mix passes its thresholds', async (how) => {
    const { json } = await expectPass(`load ${how}`, 'load')
    expect(json.metrics.http_reqs!.values.count).toBeGreaterThanOrEqual(50)
  }, T)

  test('rate-limit-probe fails a mock that over-admits: exit 99, the JUnit names the crossed threshold', async () => {
    const { r, json, byName } = await expectReports('rate-limit-probe against over-admit', 'rate-limit-probe')
    expect(r.code, r.stderr.slice(-2000)).toBe(99)
    expect(json.passed).toBe(false)
    expect(byName.thresholds!.filter(failedCase).map((c) => c.attrs.name)).toContain('rl_over_admitted count==0')
    expect(byName.checks!.filter(failedCase).map((c) => c.attrs.name)).toContain('the limiter admits exactly the limit per window (contract 5.4)')
    expect(r.stdout).toMatch(/✗ rl_over_admitted count==0 \(count=\d+\)/)
  }, T)

  test('sse-reconnect fails a server that replays events on resume: exit 99 on sse_duplicates', async () => {
    const { r, byName } = await expectReports('sse-reconnect against sse-duplicate', 'sse-reconnect')
    expect(r.code, r.stderr.slice(-2000)).toBe(99)
    expect(byName.thresholds!.filter(failedCase).map((c) => c.attrs.name)).toContain('sse_duplicates count==0')
  }, T)

  describe('setup() stops the run with exit code 108 and one line that says what to do', () => {
    async function stopped (id: string, script: Script, message: RegExp) {
      const r = await run(id)
      expect(r.code, r.stderr).toBe(108)
      expect(r.stderr).toMatch(message)
      // The reports still come, and say nothing ran: no JUnit that reads green.
      const { json, junit, raw } = filesOf(r, script)
      expect(json).toMatchObject({ passed: false, iterations: 0 })
      expect(suites(junit).run!.map((c) => c.children.map((x) => x.name))).toEqual([['error']])
      return { r, raw }
    }

    test('when the target is down', async () => {
      await stopped('stop: target down', 'smoke', /test aborted: Cannot reach http:\/\/127\.0\.0\.1:1\/health: .*npm run mock/)
    }, T)

    test('when the key is refused, naming the key by its prefix only', async () => {
      const { r, raw } = await stopped('stop: key refused', 'smoke', /test aborted: The API refused key tnz_acme_FAK…: 401 invalid_api_key.*curl -s -X POST/)
      expect(r.stderr + r.stdout + raw.join('')).not.toContain('FAKEFAKEFAKE')
    }, T)

    test('when there is neither a key nor a control API', async () => {
      await stopped('stop: no key, no control API', 'load', /test aborted: No API_KEY\. .*__harness\/tenants/)
    }, T)

    test('when sse-reconnect has no control API to end streams with', async () => {
      await stopped('stop: sse-reconnect without control API', 'sse-reconnect', /test aborted: .*sse-reconnect needs the mock's control API: set CONTROL_URL/)
    }, T)

    test('when the control API refuses the token', async () => {
      await stopped('stop: wrong control token', 'smoke', /test aborted: .*HARNESS_TOKEN/)
    }, T)
  })

  describe('k6 reads the options as the scripts mean them', () => {
    test.each(SCRIPTS)('%s: PROFILE=smoke is short by k6\'s own count; sub-metric thresholds select a route', async (s) => {
      const { totalS, thresholds } = await declared.get(s)!
      expect(thresholds.length).toBeGreaterThan(2)
      // LATENCY_SCALE reached the thresholds: no budget under a second is left.
      for (const t of thresholds) if (/^http_req_duration/.test(t)) expect(Number(/<(\d+)$/.exec(t)?.[1]), t).toBeGreaterThanOrEqual(3000)
      // tags.name is the route on every request (lib/http.ts): a threshold on another tag would match nothing.
      for (const t of thresholds) {
        const tags = /^[a-z_]+\{(.*)\} /.exec(t)?.[1]
        if (tags !== undefined) expect(tags, t).toMatch(/^name:(GET|POST|PUT|DELETE) \/\S+$/)
      }
      // k6's bound on the whole run: the scenario's duration or maxDuration plus its graceful stop. The
      // probe's maxDuration bounds a run that waits out rate-limit windows; it ends after one.
      expect(totalS).toBeLessThanOrEqual(s === 'rate-limit-probe' ? 150 : 90)
    }, T)

    test.each(SCRIPTS)('%s: an unknown PROFILE stops at init with the profiles it accepts', async (s) => {
      const r = await k6Run(['inspect', '-e', 'PROFILE=nope', join(SCENARIOS_DIR, `${s}.ts`)], {}, base)
      expect(r.code).toBe(107)
      expect(r.stderr).toMatch(/PROFILE=nope is not a profile of this scenario; use one of: .*smoke/)
    }, T)
  })

  test('the leak search finds a key where it is, raw, URL-encoded or base64, so its silence above means something', async () => {
    await Promise.allSettled([...runs.values()])
    // The keys the scripts made through the control API were among the canaries: one per run with
    // CONTROL_URL and no API_KEY (sse-reconnect makes one per VU), and the two the test made.
    expect(madeForK6.length).toBeGreaterThanOrEqual(8)
    const scanner = createLeakScanner({ canaries: [probeKey], rules: [] })
    for (const form of ['raw', 'url', 'base64'] as const) {
      expect(scanner.scan(`{"x":"${encodeLeak(probeKey, form)}"}`, form).length, form).toBeGreaterThan(0)
    }
  })
})

function durationS (s: string): number {
  let total = 0
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) {
    const v = Number(m[1])
    total += m[2] === 'h' ? v * 3600 : m[2] === 'm' ? v * 60 : m[2] === 's' ? v : v / 1000
  }
  return total
}
