// The fault plan of contract 7.2: validated once when it is set (fault-plan-validate.ts), then
// consulted per request with number comparisons and a seeded generator per fault, so the same plan,
// seed and request order always injects the same faults (house style principles 2 and 3).
import { deriveRandom } from './random.ts'
import { REST_FAULTS, ROUTE_RE, SSE_FAULTS, LIMITER_FAULTS, TLS_FAULTS, type FaultPlanInput, type FaultSpec, type FaultTarget, type RestFaultDecision, type SseFaultDecision } from './fault-types.ts'

export * from './fault-types.ts'
export { validateFaultPlan } from './fault-plan-validate.ts'

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
