// End-of-test reports for every scenario: text for the terminal, JSON for machines and JUnit XML for
// CI, built from k6's handleSummary() data without remote imports (no jslib). Pure: no k6 module is
// imported here, so vitest imports it and feeds it summary objects.
//
// What k6 (1.x and 2.x alike) passes handleSummary: `data.metrics[name] = {type, contains, values,
// thresholds?: {'<source>': {ok}}}`, one entry per threshold source string of that metric, and
// `data.root_group` with its checks and groups as arrays (k6 internal/js/summary.go,
// https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/). That is the verdict
// this file reports. The script's own `options.thresholds` is only a fallback for ordering and for a
// threshold k6 did not report: read back in handleSummary it is not the object the script exported
// but k6's consolidated options, where each list is a host object that JSON.stringify turns into
// `["rate<0.01", ...]` and that cannot be iterated (declaredThresholds() reads it).
//
// A threshold whose metric recorded no sample is still judged by k6 (a trend of nothing has p(95)=0,
// so `p(95)<300` holds). The report marks it `skipped` instead: nothing was measured. A counter that
// recorded nothing counts 0, which is a real answer for `count==0`, so it is judged.

export interface MetricSummary {
  type: string
  contains?: string
  values: Record<string, number>
  thresholds?: Record<string, { ok: boolean }>
}

export interface CheckSummary {
  name: string
  path?: string
  passes: number
  fails: number
}

export interface GroupSummary {
  name?: string
  path?: string
  groups?: GroupSummary[] | Record<string, GroupSummary>
  checks?: CheckSummary[] | Record<string, CheckSummary>
}

export interface SummaryData {
  metrics?: Record<string, MetricSummary>
  root_group?: GroupSummary
  state?: { testRunDurationMs?: number }
  /** The machine-readable layout some k6 builds offer: metrics as an array. */
  results?: { metrics?: Array<MetricSummary & { name: string }> }
  [other: string]: unknown
}

export type DeclaredThresholds = Record<string, Array<string | { threshold: string }>>

/**
 * `options.thresholds` as plain data, whatever form it has: the object a script exports, or what k6
 * hands back in handleSummary (a host object per metric that serialises to an array of sources, a
 * `{threshold, abortOnFail}` entry coming back as its source string, or as `{threshold, ...}` when
 * it aborts). Anything unreadable is left out: k6's own data still names every threshold.
 */
export function declaredThresholds (raw: unknown): DeclaredThresholds {
  let plain: unknown
  try {
    plain = raw === undefined ? undefined : JSON.parse(JSON.stringify(raw)) as unknown
  } catch {
    return {}
  }
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) return {}
  const out: DeclaredThresholds = {}
  for (const [metric, list] of Object.entries(plain as Record<string, unknown>)) {
    const items = Array.isArray(list) ? list as unknown[] : [list]
    const sources: string[] = []
    for (const t of items) {
      if (typeof t === 'string') sources.push(t)
      else if (t !== null && typeof t === 'object' && typeof (t as { threshold?: unknown }).threshold === 'string') sources.push((t as { threshold: string }).threshold)
    }
    if (sources.length > 0) out[metric] = sources
  }
  return out
}

export interface ThresholdOutcome {
  metric: string
  expression: string
  /** House style principle 4: an outcome is a value. `skipped`: k6 evaluated nothing (no samples). */
  status: 'pass' | 'fail' | 'skipped'
  /** The aggregate the expression reads, formatted, when the summary has it. */
  observed: string | undefined
  evidence: string
}

export interface SummaryReport {
  scenario: string
  /** The PROFILE the script ran with, when it has profiles. */
  profile: string | undefined
  /** Every threshold held and at least one iteration completed. */
  passed: boolean
  /** Iterations k6 completed: 0 when setup() stopped the run (exit code 108), which no threshold shows. */
  iterations: number
  generatedAt: string | undefined
  durationMs: number | undefined
  thresholds: ThresholdOutcome[]
  checks: CheckSummary[]
  metrics: Record<string, { type: string, contains: string | undefined, values: Record<string, number> }>
}

const AGG_RE = /^\s*(avg|min|max|med|count|rate|value|p\((\d+(?:\.\d+)?)\))\s*(===|==|!=|<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/

/** `http_req_duration{ name : x }` and `http_req_duration{name:x}` name the same sub-metric. */
function normalizeMetric (name: string): string {
  return name.replace(/\s*([{},:])\s*/g, '$1').trim()
}

function metricsOf (data: SummaryData): Record<string, MetricSummary> {
  if (data.metrics !== undefined && data.metrics !== null && typeof data.metrics === 'object') return data.metrics
  const out: Record<string, MetricSummary> = {}
  for (const m of data.results?.metrics ?? []) out[m.name] = m
  return out
}

function expressionOf (t: string | { threshold: string }): string {
  return typeof t === 'string' ? t : t.threshold
}

/** Read the aggregate an expression tests, e.g. `p(95)` from `p(95)<300`. */
export function aggregateOf (expression: string): string | undefined {
  const m = AGG_RE.exec(expression)
  return m === null ? undefined : m[1]
}

/** Evaluate a threshold expression against summary values; undefined when it cannot be read. */
export function evaluateExpression (expression: string, values: Record<string, number>): boolean | undefined {
  const m = AGG_RE.exec(expression)
  if (m === null) return undefined
  const actual = values[m[1]!]
  if (typeof actual !== 'number' || Number.isNaN(actual)) return undefined
  const want = Number(m[4])
  switch (m[3]) {
    case '<': return actual < want
    case '<=': return actual <= want
    case '>': return actual > want
    case '>=': return actual >= want
    case '==': case '===': return actual === want
    case '!=': return actual !== want
    default: return undefined
  }
}

export function formatValue (metric: MetricSummary | undefined, aggregate: string | undefined): string | undefined {
  if (metric === undefined || aggregate === undefined) return undefined
  const v = metric.values[aggregate]
  if (typeof v !== 'number') return undefined
  if (aggregate === 'rate' && metric.type === 'rate') return `rate=${(v * 100).toFixed(2)}%`
  if (aggregate === 'rate') return `rate=${round(v)}/s`
  if (aggregate === 'count') return `count=${round(v)}`
  if (metric.contains === 'time') return `${aggregate}=${round(v)}ms`
  if (metric.contains === 'data') return `${aggregate}=${round(v)}B`
  return `${aggregate}=${round(v)}`
}

/** How many samples a metric holds, when the summary tells: a trend with `count` in its stats, a rate. */
function sampleCount (m: MetricSummary): number | undefined {
  const v = m.values
  if (m.type === 'trend') return typeof v.count === 'number' ? v.count : undefined
  if (m.type === 'rate') return typeof v.passes === 'number' && typeof v.fails === 'number' ? v.passes + v.fails : undefined
  return undefined
}

function round (v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2)
}

/**
 * One outcome per threshold: every threshold k6 reports, with k6's verdict, plus any declared one it
 * does not report (older or other summary layouts). Sorted by metric, each metric's thresholds in the
 * order declared: k6 hands both `data.metrics` and `options.thresholds` over in Go map order, which
 * changes from run to run, and reports that diff cleanly between runs are easier to read.
 */
export function collectThresholds (data: SummaryData, declared: DeclaredThresholds = {}): ThresholdOutcome[] {
  const metrics = metricsOf(data)
  const byNorm = new Map<string, string>()
  for (const name of Object.keys(metrics)) byNorm.set(normalizeMetric(name), name)
  const out: ThresholdOutcome[] = []
  const done = new Set<string>()

  const outcome = (metricName: string, expression: string): ThresholdOutcome => {
    const key = byNorm.get(normalizeMetric(metricName))
    const metric = key === undefined ? undefined : metrics[key]
    const observed = formatValue(metric, aggregateOf(expression))
    if (metric === undefined) {
      // Not in the summary at all (k6 >= 1.3 lists every metric a threshold names, so this is another
      // layout): a count of nothing is 0; any other aggregate of nothing cannot be judged.
      const zero = aggregateOf(expression) === 'count' ? evaluateExpression(expression, { count: 0 }) : undefined
      if (zero !== undefined) {
        return { metric: metricName, expression, status: zero ? 'pass' : 'fail', observed: 'count=0', evidence: `${metricName} recorded no samples, so its count is 0: ${expression} ${zero ? 'held' : 'was crossed'}` }
      }
      return { metric: metricName, expression, status: 'skipped', observed, evidence: 'the metric recorded no samples, so k6 did not evaluate this threshold' }
    }
    const reported = metric.thresholds?.[expression]
    let ok: boolean | undefined = typeof reported?.ok === 'boolean' ? reported.ok : undefined
    if (ok !== false && sampleCount(metric) === 0) {
      return { metric: metricName, expression, status: 'skipped', observed: undefined, evidence: `${metricName} recorded no samples, so ${expression} judged nothing${ok === true ? ' (k6 counts it as held)' : ''}` }
    }
    let how = 'evaluated by k6'
    if (ok === undefined) {
      ok = evaluateExpression(expression, metric.values)
      how = 'evaluated from the summary values'
    }
    if (ok === undefined) return { metric: metricName, expression, status: 'skipped', observed, evidence: 'k6 reported no result and the expression cannot be evaluated from the summary' }
    const seen = observed === undefined ? '' : ` (observed ${observed})`
    return {
      metric: metricName,
      expression,
      status: ok ? 'pass' : 'fail',
      observed,
      evidence: ok ? `${metricName} ${expression} held${seen}; ${how}` : `${metricName} ${expression} was crossed${seen}; ${how}`
    }
  }

  for (const [metricName, list] of Object.entries(declared)) {
    for (const t of list) {
      const expression = expressionOf(t)
      const id = normalizeMetric(metricName) + '\u0000' + expression
      if (done.has(id)) continue
      done.add(id)
      out.push(outcome(metricName, expression))
    }
  }
  for (const [metricName, metric] of Object.entries(metrics)) {
    for (const expression of Object.keys(metric.thresholds ?? {})) {
      const id = normalizeMetric(metricName) + '\u0000' + expression
      if (done.has(id)) continue
      done.add(id)
      out.push(outcome(metricName, expression))
    }
  }
  return out.sort((a, b) => (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0))
}

/** Every check of every group, in order (k6 gives arrays; older builds gave maps). */
export function collectChecks (group: GroupSummary | undefined): CheckSummary[] {
  if (group === undefined || group === null) return []
  const out: CheckSummary[] = []
  const checks = Array.isArray(group.checks) ? group.checks : Object.values(group.checks ?? {})
  for (const c of checks) out.push({ name: c.name, path: c.path, passes: c.passes, fails: c.fails })
  const groups = Array.isArray(group.groups) ? group.groups : Object.values(group.groups ?? {})
  for (const g of groups) for (const c of collectChecks(g)) out.push(c)
  return out
}

export function buildReport (scenario: string, data: SummaryData, declared: DeclaredThresholds = {}, generatedAt?: string, profile?: string): SummaryReport {
  const thresholds = collectThresholds(data, declared)
  const metrics: SummaryReport['metrics'] = {}
  const all = metricsOf(data)
  for (const name of Object.keys(all).sort()) {
    const m = all[name]!
    metrics[name] = { type: m.type, contains: m.contains, values: m.values }
  }
  const iterations = all.iterations?.values.count ?? 0
  return {
    scenario,
    profile,
    passed: iterations > 0 && thresholds.every((t) => t.status !== 'fail'),
    iterations,
    generatedAt,
    durationMs: data.state?.testRunDurationMs,
    thresholds,
    checks: collectChecks(data.root_group),
    metrics
  }
}

// ---- text -----------------------------------------------------------------------------------------

const STAT_ORDER = ['avg', 'min', 'med', 'max', 'p', 'count']

function describeMetric (m: MetricSummary): string {
  const v = m.values
  const n = (x: number | undefined) => (x === undefined ? '-' : round(x))
  const unit = m.contains === 'time' ? 'ms' : m.contains === 'data' ? 'B' : ''
  switch (m.type) {
    case 'counter': return `count=${n(v.count)}${unit} rate=${n(v.rate)}/s`
    case 'rate': return `${((v.rate ?? 0) * 100).toFixed(2)}% (${n(v.passes)} of ${n((v.passes ?? 0) + (v.fails ?? 0))})`
    case 'gauge': return `value=${n(v.value)}${unit} min=${n(v.min)} max=${n(v.max)}`
    case 'trend': {
      // k6 hands the stats over in Go map order, which changes from run to run.
      const rank = (k: string) => { const i = STAT_ORDER.indexOf(k.replace(/^p\(.*$/, 'p')); return i === -1 ? STAT_ORDER.length : i }
      const pct = (k: string) => Number(/^p\((.*)\)$/.exec(k)?.[1] ?? 0)
      const keys = Object.keys(v).sort((a, b) => rank(a) - rank(b) || pct(a) - pct(b) || a.localeCompare(b))
      const parts: string[] = []
      for (const k of keys) parts.push(`${k}=${n(v[k])}${k === 'count' ? '' : unit}`)
      return parts.join(' ')
    }
    default: return JSON.stringify(v)
  }
}

export function buildText (report: SummaryReport): string {
  const lines: string[] = []
  const failed = report.thresholds.filter((t) => t.status === 'fail').length
  const skipped = report.thresholds.filter((t) => t.status === 'skipped').length
  const secs = report.durationMs === undefined ? '' : ` in ${(report.durationMs / 1000).toFixed(1)}s`
  const profile = report.profile === undefined ? '' : ` (PROFILE=${report.profile})`
  lines.push('')
  lines.push(`  k6 scenario ${report.scenario}${profile}: ${report.passed ? 'PASSED' : 'FAILED'}${secs} — ${report.thresholds.length - failed - skipped} passed, ${failed} failed, ${skipped} not evaluated`)
  if (report.iterations === 0) lines.push('  No iteration completed: setup() stopped the run, or the scenario never started (see the log above).')
  lines.push('')
  lines.push('  THRESHOLDS')
  for (const t of report.thresholds) {
    const mark = t.status === 'pass' ? '✓' : t.status === 'fail' ? '✗' : '-'
    const seen = t.observed === undefined ? (t.status === 'skipped' ? ' (no samples)' : '') : ` (${t.observed})`
    lines.push(`    ${mark} ${t.metric} ${t.expression}${seen}`)
  }
  if (report.checks.length > 0) {
    const passes = report.checks.reduce((a, c) => a + c.passes, 0)
    const fails = report.checks.reduce((a, c) => a + c.fails, 0)
    lines.push('')
    lines.push(`  CHECKS  ${passes} passed, ${fails} failed`)
    for (const c of report.checks) {
      const mark = c.fails === 0 ? '✓' : '✗'
      const tail = c.fails === 0 ? '' : ` — ${c.fails} of ${c.passes + c.fails} failed`
      lines.push(`    ${mark} ${c.name}${tail}`)
    }
  }
  const names = Object.keys(report.metrics)
  if (names.length > 0) {
    const width = Math.min(48, names.reduce((w, n) => Math.max(w, n.length), 0) + 2)
    lines.push('')
    lines.push('  METRICS')
    for (const name of names) {
      const m = report.metrics[name]!
      const dots = name.length + 2 >= width ? ' ' : ' ' + '.'.repeat(width - name.length - 1) + ' '
      lines.push(`    ${name}${dots}${describeMetric({ type: m.type, contains: m.contains, values: m.values })}`)
    }
  }
  lines.push('')
  return lines.join('\n')
}

// ---- JUnit ----------------------------------------------------------------------------------------

/** Escape for XML 1.0 text and attributes, dropping characters XML 1.0 cannot carry. */
export function escapeXml (s: string): string {
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const ch = s[i]!
    if (ch === '&') out += '&amp;'
    else if (ch === '<') out += '&lt;'
    else if (ch === '>') out += '&gt;'
    else if (ch === '"') out += '&quot;'
    else if (ch === "'") out += '&apos;'
    else if (c === 0x9 || c === 0xa || c === 0xd) out += ch
    else if (c < 0x20 || c === 0xfffe || c === 0xffff) continue
    else out += ch
  }
  return out
}

/** The groups a check sits in, from its k6 path `::group::sub::check name`. */
function groupsOf (c: CheckSummary): string[] {
  const parts = (c.path ?? '').split('::').slice(1, -1)
  return parts.filter((p) => p !== '')
}

/**
 * Two suites: one testcase per threshold (a crossed threshold is a failure, an unevaluated one is
 * skipped) and one per check (a check that failed once is a failure, with its count). The run's
 * verdict is the thresholds'; the checks suite says which request went wrong.
 */
export function buildJUnit (report: SummaryReport): string {
  const th = report.thresholds
  const thFailures = th.filter((t) => t.status === 'fail').length
  const skipped = th.filter((t) => t.status === 'skipped').length
  const chFailures = report.checks.filter((c) => c.fails > 0).length
  const noRun = report.iterations === 0 ? 1 : 0
  const tests = th.length + report.checks.length + noRun
  const time = ((report.durationMs ?? 0) / 1000).toFixed(3)
  const stamp = report.generatedAt === undefined ? '' : ` timestamp="${escapeXml(report.generatedAt)}"`
  const cls = `k6.${report.scenario}`
  const lines: string[] = []
  lines.push('<?xml version="1.0" encoding="UTF-8"?>')
  lines.push(`<testsuites name="${escapeXml(`k6 ${report.scenario}`)}" tests="${tests}" failures="${thFailures + chFailures}" errors="${noRun}" skipped="${skipped}" time="${time}">`)
  lines.push(`  <testsuite name="${escapeXml(`k6 ${report.scenario} thresholds`)}" tests="${th.length}" failures="${thFailures}" errors="0" skipped="${skipped}" time="${time}"${stamp}>`)
  for (const t of th) {
    const open = `    <testcase classname="${escapeXml(`${cls}.thresholds`)}" name="${escapeXml(`${t.metric} ${t.expression}`)}" time="0"`
    if (t.status === 'pass') {
      lines.push(`${open}/>`)
    } else if (t.status === 'fail') {
      lines.push(`${open}>`)
      lines.push(`      <failure type="threshold" message="${escapeXml(`threshold crossed${t.observed === undefined ? '' : ': ' + t.observed}`)}">${escapeXml(t.evidence)}</failure>`)
      lines.push('    </testcase>')
    } else {
      lines.push(`${open}>`)
      lines.push(`      <skipped message="${escapeXml(t.evidence)}"/>`)
      lines.push('    </testcase>')
    }
  }
  lines.push('  </testsuite>')
  lines.push(`  <testsuite name="${escapeXml(`k6 ${report.scenario} checks`)}" tests="${report.checks.length}" failures="${chFailures}" errors="0" skipped="0" time="${time}"${stamp}>`)
  for (const c of report.checks) {
    const open = `    <testcase classname="${escapeXml([`${cls}.checks`, ...groupsOf(c)].join('.'))}" name="${escapeXml(c.name)}" time="0"`
    if (c.fails === 0) {
      lines.push(`${open}/>`)
    } else {
      const total = c.passes + c.fails
      lines.push(`${open}>`)
      lines.push(`      <failure type="check" message="${escapeXml(`${c.fails} of ${total} failed`)}">${escapeXml(`${c.name}: ${c.fails} of ${total} evaluations failed, ${c.passes} passed`)}</failure>`)
      lines.push('    </testcase>')
    }
  }
  lines.push('  </testsuite>')
  if (report.iterations === 0) {
    // No threshold fails when nothing ran (a trend of nothing holds), so say it as an error.
    lines.push(`  <testsuite name="${escapeXml(`k6 ${report.scenario} run`)}" tests="1" failures="0" errors="1" skipped="0" time="${time}"${stamp}>`)
    lines.push(`    <testcase classname="${escapeXml(`${cls}.run`)}" name="at least one iteration completed" time="0">`)
    lines.push('      <error type="no-iterations" message="no iteration completed">setup() stopped the run or the scenario never started; k6 printed why on standard error</error>')
    lines.push('    </testcase>')
    lines.push('  </testsuite>')
  }
  lines.push('</testsuites>')
  return lines.join('\n') + '\n'
}

// ---- handleSummary --------------------------------------------------------------------------------

export interface SummaryOptions {
  /** The script's `options.thresholds`, as exported or as k6 hands it back (see declaredThresholds). */
  declared?: unknown
  /** The PROFILE the script ran with. */
  profile?: string
  /** Directory for the files; must exist (k6 does not create it). */
  dir?: string
  generatedAt?: string
}

/**
 * What a script's handleSummary returns: the text on stdout, `k6-<scenario>-summary.json` and
 * `k6-<scenario>-junit.xml`. The JSON is the report, never the raw data, which carries setup()'s
 * return value (API keys) as `setup_data`.
 */
export function summaryOutputs (scenario: string, data: SummaryData, opts: SummaryOptions = {}): Record<string, string> {
  const report = buildReport(scenario, data, declaredThresholds(opts.declared), opts.generatedAt, opts.profile)
  const dir = (opts.dir ?? '.').replace(/\/+$/, '')
  const prefix = dir === '' ? '' : dir + '/'
  return {
    stdout: buildText(report),
    [`${prefix}k6-${scenario}-summary.json`]: JSON.stringify(report, null, 2) + '\n',
    [`${prefix}k6-${scenario}-junit.xml`]: buildJUnit(report)
  }
}
