// SSE reconnect: is the event stream lossless and duplicate-free across reconnects (contract 4.4),
// with stock k6 and many clients reconnecting at once? Mock only: setup() gives every VU its own
// tenant and installs an `sse-drop` fault per tenant that ends each stream after DROP_AFTER events
// (contract 7.2); stock k6 can only read a stream the server ends (see lib/stream.ts).
//
// Each iteration publishes EVENTS events through the control API, then reads them: the first
// connection resumes from just before the first of them (last_event_id, 4.4 replay), every following
// connection sends Last-Event-ID after waiting the server's retry:. Gaps, duplicates and reordering
// across reconnects are counted. All VUs start together, so full runs are a reconnect storm;
// RECONNECT_DELAY_MS=0 removes the retry: pause for a harder one. EXTRA_FAULTS adds faults to the
// plan, e.g. '[{"type":"sse-duplicate","count":2}]' shows the duplicate counter at work.
//
//   BASE_URL=http://127.0.0.1:4010 CONTROL_URL=http://127.0.0.1:4010 k6 run scenarios/sse-reconnect.ts
import { check } from 'k6'
import exec from 'k6/execution'
import type { Options } from 'k6/options'
import { ctlPublishEvent } from './lib/api.ts'
import type { Credentials } from './lib/api.ts'
import { intFromEnv, readConfig } from './lib/config.ts'
import { json } from './lib/http.ts'
import { sseDuplicates, sseEvents, sseGaps, sseOutOfOrder, sseReconnects } from './lib/metrics.ts'
import { SYSTEM_TAGS, TREND_STATS } from './lib/options.ts'
import { checkKey, checkTarget, createTenant, extraFaults, installFaults, requireControl, restoreFaults, targetOf } from './lib/setup.ts'
import type { FaultPlan } from './lib/setup.ts'
import { readWithReconnects, sequenceOf } from './lib/stream.ts'
import { summaryOutputs } from './lib/summary.ts'
import type { SummaryData } from './lib/summary.ts'

const cfg = readConfig(__ENV, { profile: 'full', profiles: ['smoke', 'full'] })
const target = targetOf(cfg)
const smoke = cfg.profile === 'smoke'
const VUS = intFromEnv(__ENV, 'VUS', smoke ? 3 : 40, 1, 1000)
const ITERATIONS = intFromEnv(__ENV, 'ITERATIONS', smoke ? 1 : 3, 1, 10000)
const EVENTS = intFromEnv(__ENV, 'EVENTS', smoke ? 6 : 20, 1, 10000)
const DROP_AFTER = intFromEnv(__ENV, 'DROP_AFTER', smoke ? 3 : 5, 1, 10000)
const DROP_AFTER_MS = intFromEnv(__ENV, 'DROP_AFTER_MS', 3000, 100, 600000)
const RECONNECT_DELAY_MS = __ENV.RECONNECT_DELAY_MS === undefined || __ENV.RECONNECT_DELAY_MS === '' ? undefined : intFromEnv(__ENV, 'RECONNECT_DELAY_MS', 1000, 0, 600000)
const EXTRA = extraFaults(__ENV.EXTRA_FAULTS)
const SUBJECT = 'ledger.entry.created'
/** Scoped faults are one per tenant; the mock holds 100, so large storms share one mock-wide fault. */
const SCOPED = VUS + EXTRA.length <= 90

export const options: Options = {
  scenarios: {
    storm: { executor: 'per-vu-iterations', vus: VUS, iterations: ITERATIONS, maxDuration: smoke ? '45s' : '15m' }
  },
  thresholds: {
    sse_gaps: ['count==0'],
    sse_duplicates: ['count==0'],
    sse_out_of_order: ['count==0'],
    sse_reconnects: ['count>0'],
    sse_events: ['count>0'],
    checks: ['rate==1'],
    'http_req_failed{name:GET /api/events/stream}': ['rate==0'],
    'http_req_failed{name:POST /__harness/events}': ['rate==0']
  },
  systemTags: SYSTEM_TAGS,
  summaryTrendStats: TREND_STATS,
  setupTimeout: '120s',
  teardownTimeout: '30s'
}

interface Reader {
  cred: Credentials
  slug: string
}

interface SetupData {
  readers: Reader[]
  previous: FaultPlan
}

export function setup (): SetupData {
  checkTarget(cfg)
  const ctl = requireControl(cfg, 'sse-reconnect')
  const readers: Reader[] = []
  for (let i = 0; i < VUS; i++) {
    // Room for every reconnect: this scenario measures the stream, not the limiter.
    const t = createTenant(ctl, 100000)
    readers.push({ cred: { apiKey: t.key.key, tenantId: t.tenant.id }, slug: t.tenant.slug })
  }
  checkKey(cfg, readers[0]!.cred)
  const drop = { type: 'sse-drop', afterEvents: DROP_AFTER, afterMs: DROP_AFTER_MS }
  const faults: Array<Record<string, unknown>> = SCOPED
    ? readers.map((r) => ({ id: `k6-sse-drop-${r.slug}`, ...drop, scope: { tenant: r.cred.tenantId } }))
    : [{ id: 'k6-sse-drop', ...drop }]
  if (!SCOPED) console.warn(`${VUS} VUs: one sse-drop fault for every stream on the mock (the plan holds 100 faults); run this on a mock of its own.`)
  const previous = installFaults(ctl, faults.concat(EXTRA.map((f, i) => ({ id: `k6-extra-${i}`, ...f }))))
  return { readers, previous }
}

export default function (data: SetupData): void {
  for (const c of [sseGaps, sseDuplicates, sseOutOfOrder, sseReconnects, sseEvents]) c.add(0)
  const ctl = requireControl(cfg, 'sse-reconnect')
  const reader = data.readers[(exec.vu.idInTest - 1) % data.readers.length]!
  const seqs: number[] = []
  for (let n = 0; n < EVENTS; n++) {
    const res = ctlPublishEvent(ctl, reader.cred.tenantId, SUBJECT, { k6: { vu: exec.vu.idInTest, iteration: exec.vu.iterationInScenario, n } })
    const seq = res.status >= 200 && res.status < 300 ? sequenceOf((json(res) as { data?: unknown } | undefined)?.data) : undefined
    if (seq !== undefined) seqs.push(seq)
  }
  check(seqs, { 'POST /__harness/events stores every event and answers its sequence (contract 7.4)': (s) => s.length === EVENTS })
  if (seqs.length === 0) return

  const r = readWithReconnects(target, reader.cred, {
    subjects: SUBJECT,
    startAfter: Math.min(...seqs) - 1,
    expected: seqs,
    timeoutMs: DROP_AFTER_MS + 10000,
    maxConnections: 2 * Math.ceil(EVENTS / DROP_AFTER) + 3,
    reconnectDelayMs: RECONNECT_DELAY_MS,
    tenantIds: [reader.cred.tenantId, reader.slug]
  })
  if (r.missing.length > 0) console.warn(`VU ${exec.vu.idInTest}: ${r.missing.length} of ${EVENTS} events never arrived after ${r.connections} connections (first missing ${r.missing[0]})`)
  check(r, {
    'every published event arrives across reconnects (contract 4.4)': (x) => x.missing.length === 0 && x.totals.announcedLost === 0,
    'the stream was resumed with Last-Event-ID at least once (contract 4.2)': (x) => EVENTS <= DROP_AFTER || x.reconnects > 0
  })
}

export function teardown (data: SetupData): void {
  restoreFaults(requireControl(cfg, 'sse-reconnect'), data.previous)
}

export function handleSummary (data: SummaryData): Record<string, string> {
  return summaryOutputs('sse-reconnect', data, { declared: options.thresholds, profile: cfg.profile, dir: cfg.summaryDir, generatedAt: new Date().toISOString() })
}
