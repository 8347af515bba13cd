// The fault plan of contract 7.2: validated once when it is set, then consulted per request with
// number comparisons and a seeded generator per fault, so the same plan, seed and request order
// always injects the same faults (house style principles 2 and 3).
import type { ErrorDetail } from '../errors.ts'
import { ApiError } from '../errors.ts'
import { deriveRandom } from './random.ts'
import { redactSecrets } from './secret-windows.ts'

export const REST_FAULTS = ['latency', 'error', 'rate-limit-burst', 'lost-response', 'slow-body'] as const
export const SSE_FAULTS = ['sse-drop', 'sse-duplicate', 'sse-gap', 'sse-stall', 'sse-reject', 'sse-retry'] as const
export const LIMITER_FAULTS = ['over-admit'] as const
/**
 * Transport faults of the TLS mode (seed: "HTTPS only, TLS 1.2+"): for `durationMs` from `afterMs` after
 * the plan is set, new connections get a certificate from another CA (tls-untrusted) or only TLS 1.0/1.1
 * (tls-downgrade). They act on connections, before any tenant is known: a scope does not narrow them.
 */
export const TLS_FAULTS = ['tls-untrusted', 'tls-downgrade'] as const
export const FAULT_TYPES = [...REST_FAULTS, ...SSE_FAULTS, ...LIMITER_FAULTS, ...TLS_FAULTS] as const
export type FaultType = typeof FAULT_TYPES[number]

export interface FaultScope {
  /** Tenant id or slug. */
  tenant?: string
  /** Key id (`key_...`), never the key itself. */
  key?: string
  /** `"GET /api/wallet/list"`, or a path alone for every method. */
  route?: string
}

export interface FaultSpec {
  id?: string
  type: FaultType
  scope?: FaultScope
  /** Chance that a matching request is hit, 0..1, default 1. */
  probability?: number
  /** Matching requests to let through before the fault starts, default 0. */
  after?: number
  /** How many times the fault applies at most; default unlimited. */
  times?: number
  // latency
  ms?: number
  minMs?: number
  maxMs?: number
  // error
  status?: number
  retryAfterS?: number
  // slow-body
  chunkBytes?: number
  delayMs?: number
  // sse-drop
  afterEvents?: number
  afterMs?: number
  eventProbability?: number
  where?: 'between-frames' | 'after-id' | 'before-blank'
  // sse-duplicate: events re-sent; sse-gap: events treated as evicted (default: up to the newest)
  count?: number
  // sse-stall
  durationMs?: number
  // sse-retry
  retryMs?: number
  // over-admit
  share?: number
}

export interface FaultPlanInput {
  seed?: number
  faults: FaultSpec[]
}

export interface FaultTarget {
  tenantId: string
  tenantSlug: string
  keyId: string
  method: string
  /** The route pattern, e.g. `/api/wallet/list`. */
  route: string
  /**
   * An event stream that resumes (Last-Event-ID or last_event_id). sse-duplicate and sse-gap act on a
   * resume only, so they count (`after`, `times`) resumes only: a plan reaches every conforming client
   * the same way, whatever it does on its first connection.
   */
  resume?: boolean
}

interface CompiledFault {
  index: number
  label: string
  spec: FaultSpec
  probability: number
  after: number
  times: number
  tenant: string | undefined
  key: string | undefined
  method: string | undefined
  path: string | undefined
  random: () => number
  seen: number
  applied: number
}

/** What the REST path must do for one request. `labels` names what was applied, for the record. */
export interface RestFaultDecision {
  latencyMs: number
  error: { status: number, retryAfterS: number } | undefined
  burst: { retryAfterS: number } | undefined
  lostResponse: boolean
  slowBody: { chunkBytes: number, delayMs: number } | undefined
  labels: string[]
}

/** What an event stream must do, resolved when it opens. */
export interface SseFaultDecision {
  reject: { status: 429 | 503, retryAfterS: number } | undefined
  retryMs: number | undefined
  drop: { afterEvents: number | undefined, afterMs: number | undefined, eventProbability: number, where: 'between-frames' | 'after-id' | 'before-blank', random: () => number } | undefined
  duplicate: number
  /** Fault sse-gap: on this resume, the next `count` events after the requested id (all up to the newest when undefined) count as evicted. */
  gap: { count: number | undefined } | undefined
  stall: { afterEvents: number, durationMs: number | undefined } | undefined
  labels: string[]
}

const ALLOWED_FIELDS: Record<FaultType, readonly string[]> = {
  latency: ['ms', 'minMs', 'maxMs'],
  error: ['status', 'retryAfterS'],
  'rate-limit-burst': ['retryAfterS'],
  'lost-response': [],
  'slow-body': ['chunkBytes', 'delayMs'],
  'sse-drop': ['afterEvents', 'afterMs', 'eventProbability', 'where'],
  'sse-duplicate': ['count'],
  'sse-gap': ['count'],
  'sse-stall': ['afterEvents', 'durationMs'],
  'sse-reject': ['status', 'retryAfterS'],
  'sse-retry': ['retryMs'],
  'over-admit': ['share'],
  'tls-untrusted': ['afterMs', 'durationMs'],
  'tls-downgrade': ['afterMs', 'durationMs']
}
const COMMON_FIELDS = ['id', 'type', 'scope', 'probability', 'after', 'times']
const ROUTE_RE = /^(?:(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) )?(\/\S*)$/
const MAX_FAULTS = 100

/** Validate a plan; throws ApiError(validation_error) naming every bad field. */
export function validateFaultPlan (input: unknown): FaultPlanInput {
  const details: ErrorDetail[] = []
  const bad = (field: string, message: string) => { details.push({ field, message }) }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ApiError('validation_error', 'A fault plan is a JSON object {seed?, faults: [...]}.', [{ field: 'body', message: 'must be an object' }])
  }
  const plan = input as Record<string, unknown>
  for (const k of Object.keys(plan)) if (k !== 'seed' && k !== 'faults') bad(k, 'unknown field')
  if (plan.seed !== undefined && !isInt(plan.seed, 0, 2 ** 32 - 1)) bad('seed', 'must be an integer 0..4294967295')
  if (!Array.isArray(plan.faults)) {
    bad('faults', 'must be an array')
  } else if (plan.faults.length > MAX_FAULTS) {
    bad('faults', `at most ${MAX_FAULTS} faults`)
  } else {
    plan.faults.forEach((f: unknown, i: number) => validateFault(f, `faults[${i}]`, bad))
  }
  // A plan is logged and answered back (GET /__harness/faults): it must not carry a key or a piece of a
  // live secret anywhere (an id, a scope), which the shape checks above would let through.
  if (details.length === 0 && Array.isArray(plan.faults)) {
    plan.faults.forEach((f: unknown, i: number) => {
      const text = JSON.stringify(f)
      if (redactSecrets(text) !== text) bad(`faults[${i}]`, 'must not carry an API key or a piece of one: scope faults by key id (key_...)')
    })
  }
  if (details.length > 0) throw new ApiError('validation_error', 'The fault plan is invalid; see details.', details)
  return plan as unknown as FaultPlanInput
}

function isInt (v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
}
function isNum (v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max
}

function validateFault (f: unknown, at: string, bad: (field: string, message: string) => void): void {
  if (typeof f !== 'object' || f === null || Array.isArray(f)) { bad(at, 'must be an object'); return }
  const o = f as Record<string, unknown>
  if (typeof o.type !== 'string' || !(FAULT_TYPES as readonly string[]).includes(o.type)) {
    bad(`${at}.type`, `must be one of ${FAULT_TYPES.join(', ')}`)
    return
  }
  const type = o.type as FaultType
  const allowed = ALLOWED_FIELDS[type]
  for (const k of Object.keys(o)) if (!COMMON_FIELDS.includes(k) && !allowed.includes(k)) bad(`${at}.${k}`, `unknown field for type ${type}`)
  if (o.id !== undefined && (typeof o.id !== 'string' || o.id.length < 1 || o.id.length > 64)) bad(`${at}.id`, 'must be a string of 1-64 chars')
  if (o.probability !== undefined && !isNum(o.probability, 0, 1)) bad(`${at}.probability`, 'must be a number 0..1')
  if (o.after !== undefined && !isInt(o.after, 0, 1e9)) bad(`${at}.after`, 'must be an integer >= 0')
  if (o.times !== undefined && !isInt(o.times, 1, 1e9)) bad(`${at}.times`, 'must be an integer >= 1')
  if (o.scope !== undefined) {
    if (typeof o.scope !== 'object' || o.scope === null || Array.isArray(o.scope)) {
      bad(`${at}.scope`, 'must be an object {tenant?, key?, route?}')
    } else {
      const s = o.scope as Record<string, unknown>
      for (const k of Object.keys(s)) if (!['tenant', 'key', 'route'].includes(k)) bad(`${at}.scope.${k}`, 'unknown field')
      if (s.tenant !== undefined && (typeof s.tenant !== 'string' || s.tenant.length === 0)) bad(`${at}.scope.tenant`, 'must be a tenant id or slug')
      if (s.key !== undefined && (typeof s.key !== 'string' || !/^key_[A-Za-z0-9]{16}$/.test(s.key))) bad(`${at}.scope.key`, 'must be a key id (key_ + 16 chars), never a key')
      if (s.route !== undefined && (typeof s.route !== 'string' || !ROUTE_RE.test(s.route))) bad(`${at}.scope.route`, 'must be "/path" or "METHOD /path"')
    }
  }
  const need = (k: string, ok: boolean, message: string) => { if (!ok) bad(`${at}.${k}`, message) }
  switch (type) {
    case 'latency':
      if (o.ms === undefined) {
        need('minMs', isInt(o.minMs, 0, 600_000), 'give ms, or minMs and maxMs (integers 0..600000)')
        need('maxMs', isInt(o.maxMs, 0, 600_000) && (o.maxMs as number) >= (o.minMs as number), 'must be an integer >= minMs')
      } else {
        need('ms', isInt(o.ms, 0, 600_000), 'must be an integer 0..600000')
      }
      break
    case 'error':
      need('status', o.status === 500 || o.status === 502 || o.status === 503, 'must be 500, 502 or 503')
      if (o.retryAfterS !== undefined) need('retryAfterS', isInt(o.retryAfterS, 1, 86_400), 'must be an integer 1..86400')
      break
    case 'rate-limit-burst':
      if (o.retryAfterS !== undefined) need('retryAfterS', isInt(o.retryAfterS, 1, 86_400), 'must be an integer 1..86400')
      break
    case 'slow-body':
      if (o.chunkBytes !== undefined) need('chunkBytes', isInt(o.chunkBytes, 1, 1 << 20), 'must be an integer 1..1048576')
      if (o.delayMs !== undefined) need('delayMs', isInt(o.delayMs, 0, 60_000), 'must be an integer 0..60000')
      break
    case 'sse-drop':
      if (o.afterEvents === undefined && o.afterMs === undefined && o.eventProbability === undefined) bad(at, 'sse-drop needs afterEvents, afterMs or eventProbability')
      if (o.afterEvents !== undefined) need('afterEvents', isInt(o.afterEvents, 0, 1e9), 'must be an integer >= 0')
      if (o.afterMs !== undefined) need('afterMs', isInt(o.afterMs, 1, 86_400_000), 'must be an integer >= 1')
      if (o.eventProbability !== undefined) need('eventProbability', isNum(o.eventProbability, 0, 1), 'must be a number 0..1')
      if (o.where !== undefined) need('where', o.where === 'between-frames' || o.where === 'after-id' || o.where === 'before-blank', 'must be between-frames, after-id or before-blank')
      break
    case 'sse-duplicate':
      need('count', isInt(o.count, 1, 10_000), 'must be an integer 1..10000')
      break
    case 'sse-gap':
      if (o.count !== undefined) need('count', isInt(o.count, 1, 1e9), 'must be an integer >= 1 (events lost after the requested id; absent: all up to the newest)')
      break
    case 'sse-stall':
      if (o.afterEvents !== undefined) need('afterEvents', isInt(o.afterEvents, 0, 1e9), 'must be an integer >= 0')
      if (o.durationMs !== undefined) need('durationMs', isInt(o.durationMs, 1, 86_400_000), 'must be an integer >= 1')
      break
    case 'sse-reject':
      need('status', o.status === 429 || o.status === 503, 'must be 429 or 503')
      if (o.retryAfterS !== undefined) need('retryAfterS', isInt(o.retryAfterS, 1, 86_400), 'must be an integer 1..86400')
      break
    case 'sse-retry':
      need('retryMs', isInt(o.retryMs, 0, 3_600_000), 'must be an integer 0..3600000')
      break
    case 'over-admit':
      need('share', isNum(o.share, 0, 10), 'must be a number 0..10 (0.1 admits 10 % more than the limit)')
      break
    case 'tls-untrusted':
    case 'tls-downgrade':
      if (o.afterMs !== undefined) need('afterMs', isInt(o.afterMs, 0, 86_400_000), 'must be an integer >= 0')
      if (o.durationMs !== undefined) need('durationMs', isInt(o.durationMs, 1, 86_400_000), 'must be an integer >= 1')
      break
    case 'lost-response':
      break
  }
}

/**
 * The live plan. `rest()` and `sse()` are called per request/stream; with no faults they return a
 * shared empty decision without allocating.
 */
export function createFaultPlan (input: FaultPlanInput, defaultSeed: number) {
  const seed = input.seed ?? defaultSeed
  const compiled: CompiledFault[] = input.faults.map((spec, index) => {
    const m = spec.scope?.route === undefined ? undefined : ROUTE_RE.exec(spec.scope.route)
    return {
      index,
      label: spec.id ?? `${spec.type}#${index}`,
      spec,
      probability: spec.probability ?? 1,
      after: spec.after ?? 0,
      times: spec.times ?? Number.POSITIVE_INFINITY,
      tenant: spec.scope?.tenant,
      key: spec.scope?.key,
      method: m?.[1],
      path: m?.[2],
      random: deriveRandom(seed, `${index}:${spec.type}:${spec.id ?? ''}`),
      seen: 0,
      applied: 0
    }
  })
  const rest = compiled.filter((c) => (REST_FAULTS as readonly string[]).includes(c.spec.type))
  const sse = compiled.filter((c) => (SSE_FAULTS as readonly string[]).includes(c.spec.type))
  const sseRejects = sse.filter((c) => c.spec.type === 'sse-reject')
  const limiter = compiled.filter((c) => (LIMITER_FAULTS as readonly string[]).includes(c.spec.type))

  function inScope (c: CompiledFault, t: FaultTarget): boolean {
    if (c.tenant !== undefined && c.tenant !== t.tenantId && c.tenant !== t.tenantSlug) return false
    if (c.key !== undefined && c.key !== t.keyId) return false
    if (c.method !== undefined && c.method !== t.method) return false
    if (c.path !== undefined && c.path !== t.route) return false
    return true
  }

  /** Scope, then `after`, then `times`, then the fault's own seeded coin. */
  function fires (c: CompiledFault, t: FaultTarget): boolean {
    if (!inScope(c, t)) return false
    c.seen++
    if (c.seen <= c.after || c.applied >= c.times) return false
    if (c.probability < 1 && c.random() >= c.probability) return false
    c.applied++
    return true
  }

  return {
    seed,
    spec: input,
    empty: compiled.length === 0,
    hasRest: rest.length > 0,
    hasSse: sse.length > 0,
    /** The TLS faults, in plan order, with their labels (the TLS mode's plugin schedules them). */
    tls: compiled.filter((c) => (TLS_FAULTS as readonly string[]).includes(c.spec.type)).map((c) => ({ label: c.label, type: c.spec.type as typeof TLS_FAULTS[number], afterMs: c.spec.afterMs ?? 0, durationMs: c.spec.durationMs })),

    rest (t: FaultTarget, isMutation: boolean): RestFaultDecision | undefined {
      let d: RestFaultDecision | undefined
      for (const c of rest) {
        if (c.spec.type === 'lost-response' && !isMutation) continue
        if (!fires(c, t)) continue
        d ??= { latencyMs: 0, error: undefined, burst: undefined, lostResponse: false, slowBody: undefined, labels: [] }
        const s = c.spec
        switch (s.type) {
          case 'latency':
            d.latencyMs += s.ms ?? Math.round((s.minMs ?? 0) + c.random() * ((s.maxMs ?? 0) - (s.minMs ?? 0)))
            break
          case 'error':
            if (d.error !== undefined || d.burst !== undefined) continue
            d.error = { status: s.status ?? 500, retryAfterS: s.retryAfterS ?? 1 }
            break
          case 'rate-limit-burst':
            if (d.error !== undefined || d.burst !== undefined) continue
            d.burst = { retryAfterS: s.retryAfterS ?? 1 }
            break
          case 'lost-response':
            d.lostResponse = true
            break
          case 'slow-body':
            d.slowBody = { chunkBytes: s.chunkBytes ?? 64, delayMs: s.delayMs ?? 50 }
            break
        }
        d.labels.push(c.label)
      }
      return d
    },

    sse (t: FaultTarget): SseFaultDecision | undefined {
      let d: SseFaultDecision | undefined
      // A refused connection carries nothing: when an sse-reject fires, every other stream fault counts
      // the attempt as seen and keeps its `times` for a connection that opens, so no fault is spent
      // where it cannot reach the client.
      let refused: CompiledFault | undefined
      // Every reject counts the attempt as before; the first that fires answers it.
      for (const c of sseRejects) if (fires(c, t)) refused ??= c
      if (refused !== undefined) {
        for (const o of sse) {
          if (o.spec.type === 'sse-reject') continue
          if ((o.spec.type === 'sse-duplicate' || o.spec.type === 'sse-gap') && t.resume !== true) continue
          if (inScope(o, t)) o.seen++
        }
        const s = refused.spec
        return { reject: { status: s.status === 503 ? 503 : 429, retryAfterS: s.retryAfterS ?? 1 }, retryMs: undefined, drop: undefined, duplicate: 0, gap: undefined, stall: undefined, labels: [refused.label] }
      }
      for (const c of sse) {
        const type = c.spec.type
        if (type === 'sse-reject') continue
        if (type === 'sse-duplicate' || type === 'sse-gap') {
          // Only a resume can repeat or lose events, so only resumes count toward `after`. One
          // resume is never both (the duplicates must really be sent): the second of the two in plan
          // order counts this resume as seen, keeps its `times`, and applies to a later one.
          if (t.resume !== true) continue
          if ((type === 'sse-gap' && (d?.duplicate ?? 0) > 0) || (type === 'sse-duplicate' && d?.gap !== undefined)) {
            if (inScope(c, t)) c.seen++
            continue
          }
        }
        if (!fires(c, t)) continue
        d ??= { reject: undefined, retryMs: undefined, drop: undefined, duplicate: 0, gap: undefined, stall: undefined, labels: [] }
        const s = c.spec
        switch (s.type) {
          case 'sse-reject':
            d.reject ??= { status: s.status === 503 ? 503 : 429, retryAfterS: s.retryAfterS ?? 1 }
            break
          case 'sse-retry':
            d.retryMs = s.retryMs
            break
          case 'sse-drop':
            d.drop ??= { afterEvents: s.afterEvents, afterMs: s.afterMs, eventProbability: s.eventProbability ?? 0, where: s.where ?? 'between-frames', random: c.random }
            break
          case 'sse-duplicate':
            d.duplicate = Math.max(d.duplicate, s.count ?? 1)
            break
          case 'sse-gap':
            d.gap ??= { count: s.count }
            break
          case 'sse-stall':
            d.stall ??= { afterEvents: s.afterEvents ?? 0, durationMs: s.durationMs }
            break
        }
        d.labels.push(c.label)
      }
      return d
    },

    /** The extra share of the limit the limiter must admit for this target (over-admit fault), 0 if none. */
    overAdmitShare (t: FaultTarget): number {
      for (const c of limiter) if (inScope(c, t)) return c.spec.share ?? 0
      return 0
    },

    /** Counters per fault, for GET /__harness/faults. */
    stats () {
      return compiled.map((c) => ({ id: c.label, type: c.spec.type, seen: c.seen, applied: c.applied }))
    }
  }
}

export type FaultPlan = ReturnType<typeof createFaultPlan>
