// Step 3: the REST fault decision of contract 7.2, taken once per authenticated request, and the
// error an injected `error` fault answers with.
import { ApiError, MESSAGES } from '../errors.ts'
import type { AuthContext } from '../types.ts'
import type { FaultPlan, RestFaultDecision } from '../domain/fault-plan.ts'

/** The fault decision for one authenticated request; undefined when no REST fault is planned or fires. */
export function restFaultsFor (plan: FaultPlan, auth: AuthContext, method: string, route: string): RestFaultDecision | undefined {
  if (!plan.hasRest) return undefined
  return plan.rest({ tenantId: auth.tenantId, tenantSlug: auth.tenantSlug, keyId: auth.keyId, method, route }, method === 'POST')
}

const injected = new Map<number, ApiError>()
const unavailableAfter = new Map<number, ApiError>()

/** The error an injected `error` fault answers with (after its latency), or undefined. */
export function faultError (f: RestFaultDecision): ApiError | undefined {
  if (f.error === undefined) return undefined
  const { status, retryAfterS } = f.error
  if (status === 503) {
    let e = unavailableAfter.get(retryAfterS)
    if (e === undefined) {
      e = new ApiError('service_unavailable', MESSAGES.service_unavailable, [{ field: 'retryAfter', message: String(retryAfterS) }], { 'retry-after': String(retryAfterS) })
      if (unavailableAfter.size < 1024) unavailableAfter.set(retryAfterS, e)
    }
    return e
  }
  let e = injected.get(status)
  if (e === undefined) {
    e = new ApiError('internal_error', `Injected fault: ${status}.`, [], undefined, status)
    injected.set(status, e)
  }
  return e
}
