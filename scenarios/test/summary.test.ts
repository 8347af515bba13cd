// The handleSummary writer (lib/summary.ts), imported as the pure module it is and fed summary
// objects shaped like k6's (https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/).
// What real k6 hands it is proven by k6.test.ts; these cover the cases a healthy run does not produce.
import { describe, test, expect } from 'vitest'
import { buildJUnit, buildReport, buildText, collectThresholds, declaredThresholds, escapeXml, evaluateExpression, summaryOutputs } from '../lib/summary.ts'
import type { SummaryData } from '../lib/summary.ts'

const data: SummaryData = {
  root_group: {
    name: '',
    path: '',
    groups: [{ name: 'wallets', path: '::wallets', groups: [], checks: [{ name: 'list answers 200', path: '::wallets::list answers 200', passes: 9, fails: 1 }] }],
    checks: [{ name: 'health answers 200', path: '::health answers 200', passes: 1, fails: 0 }]
  },
  state: { testRunDurationMs: 12_345.6 },
  metrics: {
    checks: { type: 'rate', contains: 'default', values: { rate: 0.9090909, passes: 10, fails: 1 }, thresholds: { 'rate==1': { ok: false } } },
    http_req_failed: { type: 'rate', contains: 'default', values: { rate: 0, passes: 0, fails: 12 }, thresholds: { 'rate==0': { ok: true } } },
    'http_req_duration{name:GET /api/wallet/list}': { type: 'trend', contains: 'time', values: { avg: 12.5, 'p(95)': 41.25, max: 80 }, thresholds: { 'p(95)<300': { ok: true }, 'p(99)<1000': { ok: true } } },
    rl_over_admitted: { type: 'counter', contains: 'default', values: { count: 4, rate: 0.3 }, thresholds: { 'count==0': { ok: false } } },
    http_reqs: { type: 'counter', contains: 'default', values: { count: 12, rate: 1 } },
    iterations: { type: 'counter', contains: 'default', values: { count: 3, rate: 0.2 } }
  }
}

const declared = {
  checks: ['rate==1'],
  http_req_failed: ['rate==0'],
  'http_req_duration{name:GET /api/wallet/list}': ['p(95)<300', { threshold: 'p(99)<1000', abortOnFail: false }],
  rl_over_admitted: ['count==0'],
  // Never sampled: a p(95) of nothing cannot be judged, a count of nothing is 0.
  sse_resume_ms: ['p(95)<100'],
  dropped_iterations: ['count<5'],
  sse_reconnects: ['count>0']
}

describe('thresholds', () => {
  test('gives one outcome per threshold, sorted by metric and in declared order within one, with k6 verdicts', () => {
    const out = collectThresholds(data, declared)
    expect(out.map((t) => `${t.metric} ${t.expression} ${t.status}`)).toEqual([
      'checks rate==1 fail',
      'dropped_iterations count<5 pass',
      'http_req_duration{name:GET /api/wallet/list} p(95)<300 pass',
      'http_req_duration{name:GET /api/wallet/list} p(99)<1000 pass',
      'http_req_failed rate==0 pass',
      'rl_over_admitted count==0 fail',
      'sse_reconnects count>0 fail',
      'sse_resume_ms p(95)<100 skipped'
    ])
    expect(out[0]!.observed).toBe('rate=90.91%')
    expect(out[2]!.observed).toBe('p(95)=41.25ms')
    expect(out[5]!.observed).toBe('count=4')
    expect(out[7]!.evidence).toMatch(/no samples/)
  })

  test('reports thresholds k6 evaluated that the script did not declare (set from the command line)', () => {
    const out = collectThresholds(data, {})
    expect(out).toHaveLength(5)
    expect(out.filter((t) => t.status === 'fail').map((t) => t.metric)).toEqual(['checks', 'rl_over_admitted'])
  })

  test('matches a sub-metric written with spaces to the name k6 reports', () => {
    const out = collectThresholds(data, { 'http_req_duration{ name: GET /api/wallet/list }': ['p(95)<300'] })
    expect(out.filter((t) => t.expression === 'p(95)<300').map((t) => `${t.metric} ${t.status}`)).toEqual(['http_req_duration{ name: GET /api/wallet/list } pass'])
  })

  test('evaluates the expression itself when k6 reports a metric without verdicts', () => {
    const bare: SummaryData = { metrics: { x: { type: 'trend', contains: 'time', values: { 'p(95)': 500 } } } }
    const [t] = collectThresholds(bare, { x: ['p(95)<300'] })
    expect(t!.status).toBe('fail')
    expect(t!.evidence).toMatch(/evaluated from the summary values/)
    expect(evaluateExpression('count<=3', { count: 3 })).toBe(true)
    expect(evaluateExpression('rate!=0', { rate: 0 })).toBe(false)
    expect(evaluateExpression('avg < 10', { avg: 9.5 })).toBe(true)
    expect(evaluateExpression('nonsense', { count: 1 })).toBeUndefined()
  })

  test('a trend or rate k6 judged on no samples is skipped, not passed; a counter of nothing is judged on 0', () => {
    const empty: SummaryData = {
      metrics: {
        'http_req_duration{name:GET /x}': { type: 'trend', contains: 'time', values: { 'p(95)': 0, count: 0 }, thresholds: { 'p(95)<300': { ok: true } } },
        rate_limited_responses: { type: 'rate', contains: 'default', values: { rate: 0, passes: 0, fails: 0 }, thresholds: { 'rate==0': { ok: true } } },
        sse_gaps: { type: 'counter', contains: 'default', values: { count: 0, rate: 0 }, thresholds: { 'count==0': { ok: true } } },
        sse_reconnects: { type: 'counter', contains: 'default', values: { count: 0, rate: 0 }, thresholds: { 'count>0': { ok: false } } }
      }
    }
    expect(collectThresholds(empty).map((t) => `${t.metric} ${t.status}`)).toEqual([
      'http_req_duration{name:GET /x} skipped', 'rate_limited_responses skipped', 'sse_gaps pass', 'sse_reconnects fail'
    ])
    expect(collectThresholds(empty)[0]!.evidence).toMatch(/recorded no samples.*k6 counts it as held/)
  })

  test('reads the machine-readable layout where metrics are an array', () => {
    const mr: SummaryData = { results: { metrics: [{ name: 'checks', type: 'rate', contains: 'default', values: { rate: 1, passes: 2, fails: 0 } }] } }
    expect(collectThresholds(mr, { checks: ['rate==1'] })[0]!.status).toBe('pass')
  })
})

describe('declared thresholds', () => {
  test('reads options.thresholds as k6 hands it back: lists that serialise to arrays but cannot be iterated', () => {
    // What k6 1.3 gives handleSummary for a metric's list: JSON.stringify works, for...of throws.
    const hostList = (json: unknown) => ({ toJSON: () => json })
    const back = { checks: hostList(['rate==1', 'rate>0.5']), sse_gaps: hostList([{ threshold: 'count==0', abortOnFail: true }]) }
    expect(() => { for (const _t of back.checks as unknown as string[]) break }).toThrow(/not iterable/)
    expect(declaredThresholds(back)).toEqual({ checks: ['rate==1', 'rate>0.5'], sse_gaps: ['count==0'] })
  })

  test('reads the object a script exports, and ignores what is not a threshold list', () => {
    expect(declaredThresholds({ a: ['count<1', { threshold: 'count<2', abortOnFail: false }], b: [42], c: 'rate<1' })).toEqual({ a: ['count<1', 'count<2'], c: ['rate<1'] })
    expect(declaredThresholds(undefined)).toEqual({})
    expect(declaredThresholds({ toJSON () { throw new Error('no') } })).toEqual({})
  })
})

describe('JUnit XML', () => {
  const report = buildReport('probe', data, declared, '2026-01-02T03:04:05.000Z')
  const xml = buildJUnit(report)

  test('has one testcase per threshold and one per check, crossed or failed ones as failures, unjudged ones skipped', () => {
    expect(xml.match(/<testcase /g)).toHaveLength(8 + 2)
    expect(xml.match(/<failure /g)).toHaveLength(3 + 1)
    expect(xml.match(/<skipped /g)).toHaveLength(1)
    expect(xml).toMatch(/<testsuites name="k6 probe" tests="10" failures="4" errors="0" skipped="1" time="12.346">/)
    expect(xml).toMatch(/<testsuite name="k6 probe thresholds" tests="8" failures="3" errors="0" skipped="1" time="12.346" timestamp="2026-01-02T03:04:05.000Z">/)
    expect(xml).toMatch(/<testsuite name="k6 probe checks" tests="2" failures="1" errors="0" skipped="0" time="12.346" timestamp="2026-01-02T03:04:05.000Z">/)
    expect(xml).toContain('<testcase classname="k6.probe.thresholds" name="rl_over_admitted count==0" time="0">\n      <failure type="threshold" message="threshold crossed: count=4">')
    expect(xml).toContain('<testcase classname="k6.probe.checks.wallets" name="list answers 200" time="0">\n      <failure type="check" message="1 of 10 failed">')
    expect(xml).toContain('<testcase classname="k6.probe.checks" name="health answers 200" time="0"/>')
  })

  test('a run where no iteration completed (setup stopped it) is an error, whatever the thresholds say', () => {
    const { iterations: _i, ...rest } = data.metrics!
    const stopped = buildReport('smoke', { ...data, metrics: rest }, {})
    expect(stopped.passed).toBe(false)
    expect(stopped.iterations).toBe(0)
    const x = buildJUnit(stopped)
    expect(x).toMatch(/<testsuites name="k6 smoke" [^>]*errors="1"/)
    expect(x).toContain('<testcase classname="k6.smoke.run" name="at least one iteration completed" time="0">\n      <error type="no-iterations"')
    expect(buildText(stopped)).toContain('No iteration completed')
  })

  test('escapes what XML cannot carry raw', () => {
    expect(xml).toContain('name="http_req_duration{name:GET /api/wallet/list} p(95)&lt;300"')
    expect(xml).not.toMatch(/="[^"]*<[^"]*"/)
    expect(escapeXml('a&b<c>"d\'e\u0001f\tg')).toBe('a&amp;b&lt;c&gt;&quot;d&apos;ef\tg')
  })

  test('is well nested: every opened element is closed in order', () => {
    const stack: string[] = []
    for (const m of xml.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
      if (m[1] === '/') expect(stack.pop()).toBe(m[2])
      else if (m[3] !== '/') stack.push(m[2]!)
    }
    expect(stack).toEqual([])
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true)
  })

  test('a run with every threshold held and every check passed has no failure element', () => {
    const ok = buildJUnit(buildReport('smoke', { metrics: { iterations: { type: 'counter', values: { count: 1 } }, checks: { type: 'rate', values: { rate: 1 }, thresholds: { 'rate==1': { ok: true } } } } }, { checks: ['rate==1'] }))
    expect(ok).toContain('tests="1" failures="0" errors="0"')
    expect(ok).not.toMatch(/<failure|<error/)
  })
})

describe('text and JSON', () => {
  test('the text names the verdict, each threshold with its mark and observed value, and failing checks', () => {
    const text = buildText(buildReport('probe', data, declared))
    expect(text).toContain('k6 scenario probe: FAILED in 12.3s')
    expect(text).toContain('✗ rl_over_admitted count==0 (count=4)')
    expect(text).toContain('✓ http_req_failed rate==0 (rate=0.00%)')
    expect(text).toContain('- sse_resume_ms p(95)<100 (no samples)')
    expect(text).toContain('CHECKS  10 passed, 1 failed')
    expect(text).toContain('✗ list answers 200 — 1 of 10 failed')
  })

  test('handleSummary outputs go to stdout and two files, and the JSON is the report, not the raw data', () => {
    const canary = 'tnz_canary_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAK'
    const out = summaryOutputs('smoke', { ...data, setup_data: { cred: { apiKey: canary } } }, { declared, dir: 'reports/k6/', generatedAt: 'now' })
    expect(Object.keys(out).sort()).toEqual(['reports/k6/k6-smoke-junit.xml', 'reports/k6/k6-smoke-summary.json', 'stdout'])
    const json = JSON.parse(out['reports/k6/k6-smoke-summary.json']!) as { passed: boolean, thresholds: unknown[], checks: unknown[], metrics: Record<string, unknown> }
    expect(json.passed).toBe(false)
    expect(json.thresholds).toHaveLength(8)
    expect(json.checks).toHaveLength(2)
    expect(Object.keys(json.metrics)).toContain('http_reqs')
    expect(JSON.stringify(out)).not.toContain(canary)
  })
})
