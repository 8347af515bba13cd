// The mock's Prometheus metrics, derived from its record (contract 7.3): every request entry and every
// stream, frame, drop, resume and fault entry passes through `observe` as it is appended, so the
// request path and the SSE streams carry no counters of their own, and the metrics can never disagree
// with the record the checks judge by.
//
// Labels are bounded: routes are route patterns (`unmatched` for a 404), methods the HTTP ones,
// statuses numbers, tenants their slug for the first `maxTenants` tenants seen and `other` after that,
// fault ids the plan's ids (capped the same way). No request id, key id, stream id or event id is ever
// a label, and no value that could hold a key is (a fault id that looks like one is `redacted`).
import { Registry, collectDefaultMetrics, type Metric, type RegistryContentType } from 'prom-client'
import type { MockContext } from '../context.ts'
import type { RecordEntryType } from '../domain/record.ts'
import type { RequestState } from '../types.ts'
import { looksSecret } from '../pipeline/secrets.ts'
import { CounterFamily, GaugeFamily, HistogramFamily, type CounterCell, type HistogramCell, type RegistryMetric } from './families.ts'

/** The trace span sink's counts (plugins/telemetry.ts spanStats). */
export interface SpanCounts { queued: number, dropped: number, exported: number, failed: number }

export interface MockMetricsOptions {
  context: () => MockContext
  /** Counts of the trace span sink; zeros when absent (tracing off, or every span on the SDK). */
  spanStats?: (() => SpanCounts) | undefined
  /** Distinct tenant labels before the rest are counted as `other`. */
  maxTenants: number
  /** Distinct fault id labels before the rest are counted as `other`. */
  maxFaultIds?: number
}

const STREAM_ROUTE = '/api/events/stream'
const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'])
/** Request latency buckets, seconds: the mock answers in well under a millisecond unless a fault delays it. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Stream lifetimes, seconds. */
const STREAM_BUCKETS = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600]
const PREFIX = 'tenzro_mock_'

/** Process and Node.js metrics, once per process and format (they watch the process, not an app). */
const processRegistries = new Map<string, Registry<RegistryContentType>>()
function newRegistry (contentType: RegistryContentType): Registry<RegistryContentType> {
  const r = new Registry<RegistryContentType>()
  r.setContentType(contentType)
  return r
}

function processRegistry (contentType: RegistryContentType): Registry<RegistryContentType> {
  let r = processRegistries.get(contentType)
  if (r === undefined) {
    r = newRegistry(contentType)
    collectDefaultMetrics({ register: r })
    processRegistries.set(contentType, r)
  }
  return r
}

export function createMockMetrics (opts: MockMetricsOptions) {
  const ctx = opts.context
  const maxTenants = opts.maxTenants
  const maxFaultIds = opts.maxFaultIds ?? 100

  const requests = new CounterFamily(PREFIX + 'http_requests_total', 'Requests answered (or abandoned, status 499), by route pattern, method, status and tenant.', ['route', 'method', 'status', 'tenant'])
  const duration = new HistogramFamily(PREFIX + 'http_request_duration_seconds', 'Time from the request to the end of its answer, by route pattern and method (event streams are in tenzro_mock_sse_stream_duration_seconds). Exemplars carry the trace id when tracing is on.', ['route', 'method'], LATENCY_BUCKETS)
  const rateLimited = new CounterFamily(PREFIX + 'rate_limited_total', '429 answers by reason: key_limit, tenant_quota, burst_fault (fault rate-limit-burst), stream_limit (too many streams), sse_reject_fault.', ['reason', 'tenant'])
  const authAttempts = new CounterFamily(PREFIX + 'auth_attempts_total', 'Authentication attempts by outcome (ok, refused) and code (ok, or the refusal code of contract 2.7).', ['outcome', 'code', 'tenant'])
  const limiter = new CounterFamily(PREFIX + 'limiter_decisions_total', 'Rate-limit decisions: allowed, refused or unavailable (store down), by scope (key, tenant) and source (limiter, burst-fault, store-unavailable).', ['decision', 'scope', 'source'])
  const idempotency = new CounterFamily(PREFIX + 'idempotency_requests_total', 'Mutations by idempotency outcome: stored (first use), replayed, mismatch (422, key reused with another body), in_progress (409), missing (no key), new (not finished).', ['outcome'])
  const faults = new CounterFamily(PREFIX + 'faults_applied_total', 'Faults of the plan applied, by fault id (the plan\'s id, or type#index) and type.', ['fault', 'type'])
  const streamsOpened = new CounterFamily(PREFIX + 'sse_streams_opened_total', 'Event streams opened, by tenant and whether they resumed from an event id.', ['tenant', 'resumed'])
  const streamsClosed = new CounterFamily(PREFIX + 'sse_streams_closed_total', 'Event streams closed, by reason (client, fault, revoked, expired, slow-consumer, reset, shutdown, backend-error).', ['reason'])
  const streamsOpenCell: CounterCell = { value: 0 }
  const streamsOpen = new GaugeFamily(PREFIX + 'sse_streams_open', 'Event streams open now.', [], (g) => { g.series().value = streamsOpenCell.value })
  const streamDuration = new HistogramFamily(PREFIX + 'sse_stream_duration_seconds', 'Lifetime of closed event streams.', [], STREAM_BUCKETS)
  const eventsSent = new CounterFamily(PREFIX + 'sse_events_sent_total', 'Events written to streams in full, by tenant and delivery: live, replay (after Last-Event-ID) or duplicate (sent again on purpose by fault sse-duplicate).', ['tenant', 'delivery'])
  const gaps = new CounterFamily(PREFIX + 'sse_gaps_total', 'stream.gap frames sent: a resume asked for events no longer retained (contract 4.4).', ['tenant'])
  const gapEvents = new CounterFamily(PREFIX + 'sse_gap_events_total', 'Events reported lost by stream.gap frames.', ['tenant'])
  const drops = new CounterFamily(PREFIX + 'sse_drops_total', 'Streams ended by the server, by kind: fault (sse-drop), slow-consumer, revoked, expired, reset, shutdown, backend-error.', ['tenant', 'kind'])
  const reconnects = new CounterFamily(PREFIX + 'sse_reconnects_total', 'Streams resumed with Last-Event-ID (header) or last_event_id (query).', ['tenant', 'via'])
  const stalls = new CounterFamily(PREFIX + 'sse_stalls_total', 'Stalls started by fault sse-stall.', ['tenant'])
  const entries = new CounterFamily(PREFIX + 'record_entries_total', 'Entries appended to the request record, by type.', ['type'])
  const recordGauge = new GaugeFamily(PREFIX + 'record_entries', 'Entries the request record holds now (retained) and can hold (capacity).', ['state'], (g) => {
    const s = ctx().record.stats()
    g.series('retained').value = s.retained
    g.series('capacity').value = s.capacity
  })
  const recordDropped = new GaugeFamily(PREFIX + 'record_dropped_entries', 'Entries the bounded record has dropped (oldest first) since the last reset.', [], (g) => { g.series().value = ctx().record.stats().dropped })
  const info = new GaugeFamily(PREFIX + 'info', 'Always 1: the mock is up, with its rate-limit store and event backend kinds.', ['rate_limit_store', 'events_backend', 'algorithm'], (g) => {
    const c = ctx().config
    g.series(c.rateLimit.store === 'memory' ? 'memory' : 'redis', c.events.backend === 'memory' ? 'memory' : 'nats', c.rateLimit.algorithm).value = 1
  })

  const spans = new CounterFamily(PREFIX + 'trace_spans_total', 'SERVER spans of the trace export queue by outcome: queued (handed to the export worker), dropped (the queue was full, as OTEL_BSP_MAX_QUEUE_SIZE bounds it), exported, failed (the exporter gave up). Zero when tracing is off.', ['outcome'], (c) => {
    const s = opts.spanStats?.()
    for (const outcome of ['queued', 'dropped', 'exported', 'failed'] as const) c.series(outcome).value = s === undefined ? 0 : s[outcome]
  })
  const families = [info, requests, duration, rateLimited, authAttempts, limiter, idempotency, faults, streamsOpened, streamsClosed, streamsOpen,
    streamDuration, eventsSent, gaps, gapEvents, drops, reconnects, stalls, entries, recordGauge, recordDropped, spans]

  // ---- bounded labels ----------------------------------------------------------------------------

  // Series that may stay at zero exist from the start (a tenant's first request, or now for the
  // unlabelled ones), so "no 429s" or "no gaps" reads as 0 on a dashboard and in a rule, not as no data.
  for (const outcome of ['stored', 'replayed', 'mismatch', 'in_progress', 'missing']) idempotency.series(outcome)
  for (const decision of ['allowed', 'refused']) limiter.series(decision, 'key', 'limiter')
  const touched = new Set<string>()
  function touchTenant (t: string): void {
    if (touched.has(t)) return
    touched.add(t)
    for (const reason of ['key_limit', 'tenant_quota', 'burst_fault', 'stream_limit', 'sse_reject_fault']) rateLimited.series(reason, t)
    for (const delivery of ['live', 'replay', 'duplicate']) eventsSent.series(t, delivery)
    for (const kind of ['fault', 'slow-consumer', 'backend-error']) drops.series(t, kind)
    gaps.series(t)
    gapEvents.series(t)
    stalls.series(t)
    reconnects.series(t, 'header')
  }

  const tenantLabels = new Map<string, string>()
  function tenantLabel (id: unknown): string {
    if (typeof id !== 'string') return 'none'
    let label = tenantLabels.get(id)
    if (label === undefined) {
      if (tenantLabels.size >= maxTenants) {
        touchTenant('other')
        return 'other'
      }
      const slug = ctx().keys.tenant(id)?.slug
      label = slug === undefined || looksSecret(slug) ? 'unknown' : slug
      tenantLabels.set(id, label)
      touchTenant(label)
    }
    return label
  }

  const methodLabels = new Map<string, string>()
  function methodLabel (m: unknown): string {
    if (typeof m !== 'string') return 'OTHER'
    let label = methodLabels.get(m)
    if (label === undefined) {
      label = METHODS.has(m) ? m : 'OTHER'
      if (methodLabels.size < 64) methodLabels.set(m, label)
    }
    return label
  }

  // Fault ids come from the plan a harness set: counted as they are, capped, and never one that could hold a key.
  const faultIds = new Set<string>()
  let planSeen: unknown
  let typeOf = new Map<string, string>()
  function faultTypes (): Map<string, string> {
    const plan = ctx().faults
    if (plan !== planSeen) {
      planSeen = plan
      typeOf = new Map(plan.stats().map((s) => [s.id, s.type]))
    }
    return typeOf
  }
  function faultIdLabel (id: string): string {
    if (faultIds.has(id)) return id
    if (looksSecret(id)) return 'redacted'
    if (faultIds.size >= maxFaultIds) return 'other'
    faultIds.add(id)
    return id
  }
  /** Count the labels of `labels` whose fault is of `type` (all of them when type is undefined). */
  function countFaults (labels: unknown, type: string | undefined): void {
    const types = faultTypes()
    let counted = false
    if (Array.isArray(labels)) {
      for (const l of labels) {
        if (typeof l !== 'string') continue
        const t = types.get(l) ?? (/^([a-z-]+)#\d+$/.exec(l)?.[1] ?? 'unknown')
        if (type !== undefined && t !== type) continue
        faults.series(faultIdLabel(l), t).value++
        counted = true
      }
    }
    // An entry of a fault that carries no labels (a stall): the plan's only fault of that type, else the type.
    if (!counted && type !== undefined) {
      let id: string | undefined
      for (const [l, t] of types) if (t === type) { if (id === undefined) id = l; else { id = undefined; break } }
      faults.series(faultIdLabel(id ?? type), type).value++
    }
  }

  // ---- observing the record ----------------------------------------------------------------------

  // The series a request entry adds to, remembered per combination of its labels: a request then
  // costs one Map lookup (its route) and a short scan, instead of walking four families' label trees
  // (13 Map lookups, each likely a cache miss between two requests: 1.9 % of the mock's time in a
  // CPU profile under load, ~0.1 % now). Bounded: routes are patterns, and past MAX_COMBINATIONS a route's further
  // combinations are looked up in the trees each time (counted the same, only slower).
  interface RequestSeries {
    method: string
    status: number
    tenant: string
    auth: unknown
    authCode: string | null
    decision: string | null
    scope: string | null
    source: string | null
    requests: CounterCell
    duration: HistogramCell | undefined
    authAttempt: CounterCell | undefined
    limiter: CounterCell | undefined
  }
  const MAX_COMBINATIONS = 32
  const seriesByRoute = new Map<string, RequestSeries[]>()
  function requestSeries (route: string, method: string, status: number, tenant: string, auth: unknown, authCode: string | null, decision: string | null, scope: string | null, source: string | null): RequestSeries {
    let known = seriesByRoute.get(route)
    if (known === undefined) { known = []; seriesByRoute.set(route, known) }
    for (let i = 0; i < known.length; i++) {
      const c = known[i]!
      if (c.status === status && c.method === method && c.tenant === tenant && c.auth === auth && c.authCode === authCode && c.decision === decision && c.scope === scope && c.source === source) return c
    }
    const c: RequestSeries = {
      method,
      status,
      tenant,
      auth,
      authCode,
      decision,
      scope,
      source,
      requests: requests.series(route, method, status, tenant),
      duration: route === STREAM_ROUTE ? undefined : duration.series(route, method),
      authAttempt: auth === 'ok' ? authAttempts.series('ok', 'ok', tenant) : auth === 'refused' ? authAttempts.series('refused', authCode!, tenant) : undefined,
      limiter: decision === null ? undefined : limiter.series(decision, scope!, source!)
    }
    if (known.length < MAX_COMBINATIONS) known.push(c)
    return c
  }

  function request (e: Readonly<Record<string, unknown>>, s: RequestState | undefined): void {
    const route = typeof e.route === 'string' ? e.route : 'unmatched'
    const status = e.status as number
    const tenant = tenantLabel(e.tenant)
    const auth = e.auth
    const rl = s?.rateLimit
    let decision: string | null = null
    let scope: string | null = null
    let source: string | null = null
    if (rl !== undefined) {
      source = rl.source ?? 'limiter'
      decision = rl.allowed ? 'allowed' : source === 'store-unavailable' ? 'unavailable' : 'refused'
      scope = rl.scope ?? 'key'
    }
    const authCode = auth === 'refused' ? (typeof e.code === 'string' ? e.code : 'unknown') : null
    const c = requestSeries(route, methodLabel(e.method), status, tenant, auth, authCode, decision, scope, source)
    c.requests.value++
    if (c.duration !== undefined) duration.observe(c.duration, (e.durationMs as number) / 1000, e.traceId as string | null, e.ts as number | undefined)
    if (c.authAttempt !== undefined) c.authAttempt.value++
    if (c.limiter !== undefined) c.limiter.value++
    if (status === 429) {
      let reason: string
      if (e.code === 'too_many_streams') reason = 'stream_limit'
      else if (rl !== undefined && !rl.allowed) reason = rl.source === 'burst-fault' ? 'burst_fault' : rl.scope === 'tenant' ? 'tenant_quota' : 'key_limit'
      else if (e.code === 'rate_limited' && route === STREAM_ROUTE) reason = 'sse_reject_fault'
      else reason = 'other'
      rateLimited.series(reason, tenant).value++
    }
    if (typeof e.idempotency === 'string') idempotency.series(e.idempotency).value++
    if (e.faults !== null && e.faults !== undefined) countFaults(e.faults, undefined)
  }

  function observe (type: RecordEntryType, e: Readonly<Record<string, unknown>>, context: unknown): void {
    entries.series(type).value++
    switch (type) {
      case 'request':
        request(e, context as RequestState | undefined)
        return
      case 'frame':
        if (e.event === 'stream.gap') {
          const t = tenantLabel(e.tenant)
          gaps.series(t).value++
          gapEvents.series(t).value += Math.max(0, (e.to as number) - (e.from as number) + 1)
        } else {
          eventsSent.series(tenantLabel(e.tenant), e.duplicate === true ? 'duplicate' : e.replay === true ? 'replay' : 'live').value++
        }
        return
      case 'stream':
        if (e.phase === 'open') {
          streamsOpenCell.value++
          streamsOpened.series(tenantLabel(e.tenant), e.lastEventId === null || e.lastEventId === undefined ? 'false' : 'true').value++
        } else if (e.phase === 'close') {
          streamsOpenCell.value--
          streamsClosed.series(typeof e.reason === 'string' ? e.reason : 'unknown').value++
          if (typeof e.durationMs === 'number') streamDuration.observe(streamDuration.series(), e.durationMs / 1000)
        }
        return
      case 'drop':
        drops.series(tenantLabel(e.tenant), typeof e.reason === 'string' ? e.reason : 'unknown').value++
        if (e.reason === 'fault') countFaults(e.labels, 'sse-drop')
        return
      case 'resume':
        reconnects.series(tenantLabel(e.tenant), e.via === 'query' ? 'query' : 'header').value++
        return
      case 'fault':
        if (e.fault === 'sse-stall') {
          if (e.phase !== 'start') return
          stalls.series(tenantLabel(e.tenant)).value++
        }
        if (typeof e.fault === 'string') countFaults(e.labels, e.fault)
    }
  }

  // ---- exposition --------------------------------------------------------------------------------

  function registryFor (contentType: RegistryContentType): Registry<RegistryContentType> {
    const r = newRegistry(contentType)
    for (const f of families) r.registerMetric(f.view() as unknown as Metric)
    for (const m of processRegistry(contentType).getMetricsAsArray()) r.registerMetric(m as unknown as Metric)
    return r
  }
  // Made at the first scrape in each format: Prometheus asks for OpenMetrics only, so the process
  // collectors (an event-loop delay monitor, a GC observer) of the other format are never started.
  let text: Registry<RegistryContentType> | undefined
  let openMetrics: Registry<RegistryContentType> | undefined

  return {
    observe,

    /** The exposition for an Accept header: OpenMetrics 1.0 (with exemplars) when asked for, else Prometheus text 0.0.4. */
    async scrape (accept: string | undefined): Promise<{ contentType: string, body: string }> {
      const om = accept !== undefined && accept.includes('application/openmetrics-text')
      const r = om ? (openMetrics ??= registryFor(Registry.OPENMETRICS_CONTENT_TYPE)) : (text ??= registryFor(Registry.PROMETHEUS_CONTENT_TYPE))
      return { contentType: r.contentType, body: await r.metrics() }
    },

    /** Names of the mock's own families (tests and docs). */
    names (): string[] {
      return families.map((f) => f.name)
    }
  }
}

export type MockMetrics = ReturnType<typeof createMockMetrics>
export type { RegistryMetric }
