// The fault kinds of contract 7.2 and the shapes of a plan, its targets and its decisions: shared by
// the plan (fault-plan.ts), its validation (fault-plan-validate.ts) and the shared counters.
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

/** `"METHOD /path"` or `"/path"` in a fault's scope. */
export const ROUTE_RE = /^(?:(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) )?(\/\S*)$/
