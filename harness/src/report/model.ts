// The report every run produces, built once and rendered as console text, JUnit
// XML, JSON and HTML. It holds key ids and redacted previews only: never a key.
import type { CheckResult } from '../checks/types.ts'
import type { AnyEntry, RequestEntry } from '../evidence.ts'
import type { DrillTimelineEntry } from '../drills/audit.ts'
import type { FaultCoverage } from '../coverage.ts'

export interface TimelinePoint { t: number, kind: 'open' | 'drop' | 'resume' | 'gap' | 'stall' | 'reject' | 'close', streamId?: string, label: string }

export interface SuiteReport {
  /** Scenario name (run) or `verify`. */
  name: string
  description: string
  startedAt: string
  durationMs: number
  checks: CheckResult[]
  /** Per fault of the plan: planned, matched by the mock, delivered to the client under test. */
  coverage?: FaultCoverage[]
  /** Per-second buckets from the start of the suite. */
  series: { t0: number, requests: number[], r429: number[], r5xx: number[] }
  /** Latency histogram: upper bounds in ms and counts. */
  latency: { boundsMs: number[], counts: number[], p50: number, p95: number, p99: number }
  timeline: TimelinePoint[]
  stats: Record<string, number | string>
  /** Drill profiles: what the harness did and how the client and the mock answered, in time order. */
  drillTimeline?: Array<DrillTimelineEntry & { offsetMs: number }>
}

export interface HarnessReport {
  tool: 'tenzro-harness'
  version: string
  command: 'run' | 'verify' | 'drill'
  startedAt: string
  durationMs: number
  target: string
  suites: SuiteReport[]
  totals: { pass: number, fail: number, error: number, skip: number }
  /** --strict: a check the profile could not exercise is a failure (a go-live gate). */
  strict?: boolean
}

const BOUNDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, Number.POSITIVE_INFINITY]

function quantile (sorted: number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

/** Summarise a record (the suite's slice of it) into the series, histogram and SSE timeline. */
export function summariseRecord (record: AnyEntry[], keyIds: readonly string[], t0: number, t1: number): Pick<SuiteReport, 'series' | 'latency' | 'timeline' | 'stats'> {
  const keys = new Set(keyIds)
  const mine = record.filter((e) => !('keyId' in e) || e.keyId === null || e.keyId === undefined || keys.has(e.keyId as string))
  const reqs = mine.filter((e): e is RequestEntry => e.type === 'request' && (e as RequestEntry).route?.startsWith('/__harness') !== true)
  const n = Math.max(1, Math.ceil((t1 - t0) / 1000))
  const series = { t0, requests: new Array<number>(n).fill(0), r429: new Array<number>(n).fill(0), r5xx: new Array<number>(n).fill(0) }
  const lat: number[] = []
  for (const r of reqs) {
    const i = Math.min(n - 1, Math.max(0, Math.floor((r.ts - t0) / 1000)))
    series.requests[i]!++
    if (r.status === 429) series.r429[i]!++
    if (r.status >= 500) series.r5xx[i]!++
    if (r.route !== '/api/events/stream') lat.push(r.durationMs)
  }
  lat.sort((a, b) => a - b)
  const counts = BOUNDS.map(() => 0)
  for (const l of lat) counts[BOUNDS.findIndex((b) => l <= b)]!++
  const timeline: TimelinePoint[] = []
  for (const e of mine) {
    const x = e as Record<string, unknown>
    if (e.type === 'stream') timeline.push({ t: e.ts, kind: x.phase === 'open' ? 'open' : 'close', streamId: x.streamId as string, label: x.phase === 'open' ? `open${x.lastEventId != null ? ` from ${String(x.lastEventId)}` : ''}` : `close (${String(x.reason)})` })
    else if (e.type === 'drop') timeline.push({ t: e.ts, kind: 'drop', streamId: x.streamId as string, label: `drop (${String(x.reason)}${x.where !== undefined ? `, ${String(x.where)}` : ''}) after ${String(x.lastId ?? 'none')}` })
    else if (e.type === 'resume') timeline.push({ t: e.ts, kind: 'resume', streamId: x.streamId as string, label: `resume after ${String(x.lastEventId)}` })
    else if (e.type === 'frame' && x.event === 'stream.gap') timeline.push({ t: e.ts, kind: 'gap', streamId: x.streamId as string, label: `gap ${String(x.from)}-${String(x.to)}` })
    else if (e.type === 'fault' && x.fault === 'sse-stall' && x.phase === 'start') timeline.push({ t: e.ts, kind: 'stall', streamId: x.streamId as string, label: 'stall' })
    else if (e.type === 'fault' && x.fault === 'sse-reject') timeline.push({ t: e.ts, kind: 'reject', label: `reject ${String(x.status)}` })
  }
  timeline.sort((a, b) => a.t - b.t)
  return {
    series,
    latency: { boundsMs: BOUNDS.map((b) => (Number.isFinite(b) ? b : -1)), counts, p50: quantile(lat, 0.5), p95: quantile(lat, 0.95), p99: quantile(lat, 0.99) },
    timeline: timeline.slice(0, 2000),
    stats: {
      requests: reqs.length,
      '429': reqs.filter((r) => r.status === 429).length,
      '5xx': reqs.filter((r) => r.status >= 500).length,
      streams: mine.filter((e) => e.type === 'stream' && (e as Record<string, unknown>).phase === 'open').length,
      drops: mine.filter((e) => e.type === 'drop').length,
      framesSent: mine.filter((e) => e.type === 'frame').length
    }
  }
}

/** Faults of the suites' plans that never reached the client, as `suite: id` (or `id` for one suite). */
export function undeliveredFaults (suites: SuiteReport[]): string[] {
  const out: string[] = []
  for (const s of suites) for (const f of s.coverage ?? []) if (f.delivered === 0) out.push(suites.length === 1 ? f.id : `${s.name}: ${f.id}`)
  return out
}

/**
 * Faults that reached the client fewer times than planned (a persistent failure the client met 4 of
 * 15 times before the run ended), as `id n of m`: reached, but not in full, so a check that needs
 * the rest (retry-cap needs a failure that outlasts the client's retries) may have skipped.
 */
export function partlyDeliveredFaults (suites: SuiteReport[]): string[] {
  const out: string[] = []
  for (const s of suites) {
    for (const f of s.coverage ?? []) {
      if (f.delivered > 0 && f.planned !== null && f.delivered < f.planned) out.push(`${suites.length === 1 ? f.id : `${s.name}: ${f.id}`} ${f.delivered} of ${f.planned}`)
    }
  }
  return out
}

/** --strict: every skipped check becomes a failure that names what was not exercised. */
export function applyStrict (suites: SuiteReport[]): void {
  for (const s of suites) {
    s.checks = s.checks.map((c) => c.status !== 'skip' ? c : {
      ...c,
      status: 'fail',
      summary: `not exercised (--strict): ${c.summary}`,
      evidence: { ...c.evidence, strict: true },
      violations: [{ message: `not exercised: ${c.summary}${c.requires === undefined ? '' : ` (needs: ${c.requires})`}` }]
    })
  }
}

export function totals (suites: SuiteReport[]): HarnessReport['totals'] {
  const t = { pass: 0, fail: 0, error: 0, skip: 0 }
  for (const s of suites) for (const c of s.checks) t[c.status]++
  return t
}
