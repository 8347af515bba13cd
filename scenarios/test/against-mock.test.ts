// The scenarios' own code (setup, default, teardown) run against the real mock (bin/tenzro-mock.js on
// a free port), with k6's modules replaced by stand-ins that send each request through curl: k6 itself
// cannot be installed here. What this proves: the requests, parsing, checks and counters of each
// script agree with the mock; what it cannot: k6's scheduling (executors, VU concurrency).
import { describe, test, expect, vi, beforeAll, afterAll, beforeEach } from 'vitest'
import { collectThresholds } from '../lib/summary.ts'
import type { MetricSummary } from '../lib/summary.ts'
import { failedChecks, hasCurl, k6State, liveTransport, loadScript, metricTotal, resetK6, startMock } from './helper.ts'

vi.mock('k6', async () => (await import('./helper.ts')).k6)
vi.mock('k6/http', async () => (await import('./helper.ts')).k6http)
vi.mock('k6/metrics', async () => (await import('./helper.ts')).k6metrics)
vi.mock('k6/execution', async () => (await import('./helper.ts')).k6execution)
vi.mock('k6/crypto', async () => (await import('./helper.ts')).k6crypto)

const curl = hasCurl()
if (!curl) console.warn('scenarios against the mock: skipped, curl is not installed (apt-get install curl)')

type Fn = (...a: unknown[]) => unknown

/** Run a script's lifecycle as k6 would for `vus` VUs x `iterations`, one after the other. */
async function lifecycle (file: string, env: Record<string, string>, vus = 1, iterations = 1) {
  const m = await loadScript(file, env)
  const data = (m.setup as Fn | undefined)?.()
  let n = 0
  for (let vu = 1; vu <= vus; vu++) {
    for (let it = 0; it < iterations; it++) {
      Object.assign(k6State.vu, { idInTest: vu, idInInstance: vu, iterationInScenario: it, iterationInInstance: it })
      Object.assign(k6State.scenario, { iterationInTest: n, iterationInInstance: n })
      n++
      ;(m.default as Fn)(data)
    }
  }
  ;(m.teardown as Fn | undefined)?.(data)
  // Every request of every script carries its route as tags.name and a W3C traceparent.
  for (const r of k6State.requests) {
    expect(r.params.tags?.name, r.url).toMatch(/^(GET|POST|PUT|DELETE) \/\S*$/)
    expect(r.params.headers?.traceparent, r.url).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
  }
  return m
}

/** k6's threshold verdicts on the custom metrics and checks the stand-ins recorded. */
function verdicts (m: Record<string, unknown>) {
  const metrics: Record<string, MetricSummary> = {}
  for (const [name, type] of k6State.metrics) {
    const xs = k6State.samples.filter((s) => s.metric === name).map((s) => Number(s.value))
    if (xs.length === 0) continue
    const sum = xs.reduce((a, b) => a + b, 0)
    metrics[name] = type === 'rate' ? { type, values: { rate: sum / xs.length, passes: sum, fails: xs.length - sum } } : { type, values: { count: sum } }
  }
  let passes = 0
  let fails = 0
  for (const c of k6State.checks.values()) { passes += c.passes; fails += c.fails }
  if (passes + fails > 0) metrics.checks = { type: 'rate', values: { rate: passes / (passes + fails), passes, fails } }
  const declared = (m.options as { thresholds: Record<string, string[]> }).thresholds
  return collectThresholds({ metrics }, declared).filter((t) => t.status !== 'skipped')
}

const failed = (m: Record<string, unknown>) => verdicts(m).filter((t) => t.status === 'fail').map((t) => `${t.metric} ${t.expression} (${t.observed ?? '?'})`)

describe.skipIf(!curl && process.env.CI === undefined)('the scenarios against the mock', () => {
  let mock: { url: string, stop: () => Promise<void> }
  let env: Record<string, string>

  beforeAll(async () => {
    if (!curl) throw new Error('curl is required in CI for the scenario tests')
    // Two-second windows, so the rate-limit probe waits out a window in a test's time.
    mock = await startMock(['--rate-limit-window-ms', '2000'])
    // Streams the mock cuts after 0.5 s at most: the last connection of a read waits that long.
    env = { BASE_URL: mock.url, CONTROL_URL: mock.url, PROFILE: 'smoke', DROP_AFTER_MS: '500' }
  })
  afterAll(async () => { await mock?.stop() })
  beforeEach(() => {
    vi.resetModules()
    resetK6(liveTransport())
  })

  async function control (method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(mock.url + path, body === undefined ? { method } : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect(res.status, `${method} ${path}`).toBeLessThan(300)
    return await res.json()
  }

  test('smoke: every endpoint answers as the contract says, the event stream included', async () => {
    const m = await lifecycle('smoke.ts', env)
    expect(k6State.aborted).toEqual([])
    expect(failedChecks()).toEqual([])
    expect(k6State.checks.size).toBeGreaterThan(15)
    expect(failed(m)).toEqual([])
    // teardown put the fault plan back as it found it.
    expect(await control('GET', '/__harness/faults')).toMatchObject({ data: { faults: [] } })
    // One request per endpoint at least.
    const names = new Set(k6State.requests.map((r) => r.params.tags?.name))
    for (const n of ['GET /health', 'GET /api/events/health', 'GET /api/keys/validate', 'GET /api/wallet/list', 'POST /api/wallet/create', 'GET /api/events/stream']) expect(names).toContain(n)
  })

  test('smoke without a control API: the stream is seen to open through the client timeout', async () => {
    const made = await control('POST', '/__harness/tenants', {}) as { data: { key: { key: string } } }
    const m = await lifecycle('smoke.ts', { BASE_URL: mock.url, API_KEY: made.data.key.key })
    expect(k6State.aborted).toEqual([])
    expect(failedChecks()).toEqual([])
    expect(k6State.checks.get('the event stream opens with retry: <ms> (contract 4.1, 4.3)')).toEqual({ passes: 1, fails: 0 })
    expect(failed(m)).toEqual([])
  })

  test('idempotency: concurrent duplicates with one key make one wallet', async () => {
    const m = await lifecycle('idempotency.ts', env, 1, 2)
    expect(failedChecks()).toEqual([])
    // Every duplicate but the first was answered 409 in progress or a replay.
    expect(metricTotal('idem_in_progress') + metricTotal('idem_replays')).toBe(2 * 2)
    expect(metricTotal('idem_keys_checked')).toBe(2)
    expect(metricTotal('idem_extra_resources')).toBe(0)
    expect(failed(m)).toEqual([])
  })

  test('sse-reconnect: every event arrives once across reconnects, for each VU', async () => {
    const m = await lifecycle('sse-reconnect.ts', { ...env, VUS: '2', RECONNECT_DELAY_MS: '50' }, 2, 1)
    expect(failedChecks()).toEqual([])
    expect(metricTotal('sse_events')).toBe(12)
    expect(metricTotal('sse_reconnects')).toBe(2)
    expect(metricTotal('sse_gaps') + metricTotal('sse_duplicates') + metricTotal('sse_out_of_order')).toBe(0)
    expect(failed(m)).toEqual([])
  })

  test('sse-reconnect: the duplicate counter sees the events the mock re-sends on resume', async () => {
    const m = await lifecycle('sse-reconnect.ts', { ...env, VUS: '1', RECONNECT_DELAY_MS: '50', EXTRA_FAULTS: '[{"type":"sse-duplicate","count":2}]' })
    expect(metricTotal('sse_duplicates')).toBeGreaterThan(0)
    expect(failed(m)).toContain(`sse_duplicates count==0 (count=${metricTotal('sse_duplicates')})`)
    expect(await control('GET', '/__harness/faults')).toMatchObject({ data: { faults: [] } })
  })

  test('rate-limit probe: the mock limiter admits exactly the limit, with honest headers', async () => {
    const m = await lifecycle('rate-limit-probe.ts', env)
    expect(k6State.aborted).toEqual([])
    expect(failedChecks()).toEqual([])
    expect(metricTotal('rl_windows_checked')).toBeGreaterThan(0)
    expect(failed(m)).toEqual([])
  })

  test('rate-limit probe: a mock with the over-admit fault fails its thresholds', async () => {
    await control('PUT', '/__harness/faults', { faults: [{ type: 'over-admit', share: 0.2 }] })
    try {
      const m = await lifecycle('rate-limit-probe.ts', env)
      expect(metricTotal('rl_over_admitted')).toBeGreaterThanOrEqual(4)
      expect(failed(m).join('\n')).toMatch(/rl_over_admitted count==0/)
    } finally {
      await control('DELETE', '/__harness/faults')
    }
  })

  test('load: the request mix (create, validate, list with cursor) passes its checks', async () => {
    const m = await lifecycle('load.ts', env, 1, 30)
    expect(failedChecks()).toEqual([])
    const names = new Set(k6State.requests.map((r) => r.params.tags?.name))
    expect([...names].sort()).toEqual(expect.arrayContaining(['GET /api/keys/validate', 'GET /api/wallet/list', 'POST /api/wallet/create']))
    expect(k6State.requests.some((r) => /cursor=/.test(r.url))).toBe(true)
    expect(failed(m)).toEqual([])
  })

  describe('setup() stops with a message that says what to do', () => {
    test('when the target is down', async () => {
      const m = await loadScript('smoke.ts', { BASE_URL: 'http://127.0.0.1:1' })
      expect(() => (m.setup as Fn)()).toThrow()
      expect(k6State.aborted[0]).toMatch(/^Cannot reach http:\/\/127\.0\.0\.1:1\/health: .*npm run mock/)
    })

    test('when the key is refused', async () => {
      const m = await loadScript('smoke.ts', { BASE_URL: mock.url, API_KEY: 'tnz_acme_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAK' })
      expect(() => (m.setup as Fn)()).toThrow()
      expect(k6State.aborted[0]).toMatch(/^The API refused key tnz_acme_FAK…: 401 invalid_api_key.*curl -s -X POST/)
      expect(k6State.aborted[0]).not.toContain('FAKEFAKEFAKE')
    })

    test('when there is neither a key nor a control API', async () => {
      const m = await loadScript('load.ts', { BASE_URL: mock.url, PROFILE: 'smoke' })
      expect(() => (m.setup as Fn)()).toThrow()
      expect(k6State.aborted[0]).toMatch(/^No API_KEY\. .*__harness\/tenants/)
    })

    test('when sse-reconnect has no control API to end streams with', async () => {
      const m = await loadScript('sse-reconnect.ts', { BASE_URL: mock.url, PROFILE: 'smoke' })
      expect(() => (m.setup as Fn)()).toThrow()
      expect(k6State.aborted[0]).toMatch(/sse-reconnect needs the mock's control API: set CONTROL_URL/)
    })
  })
})
