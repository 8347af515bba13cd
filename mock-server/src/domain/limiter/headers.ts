// Rate-limit header values (contract 5.2), framework-free so the Fastify plugin and the msw handlers
// write the same bytes.
//
// X-RateLimit-Limit / -Remaining / -Reset: the binding limiter's limit, what is left, and the Unix time
// in whole seconds (rounded up) at which the quota next grows.
//
// Opt-in IETF fields, draft-ietf-httpapi-ratelimit-headers-11 (May 2026; the same syntax as -09 and
// -10): RateLimit-Policy is a Structured Fields List of quota policies, each a String item with
// q (quota, Integer) and w (window, Integer seconds), section 3; RateLimit lists the current service
// limit per policy with r (available quota) and t (seconds until it grows, non-negative Integer),
// section 4. The key's policy is named "default", a tenant quota "tenant".
import type { LimitDecision } from './types.ts'

export function resetSeconds (d: LimitDecision): number {
  return Math.ceil(d.resetAtMs / 1000)
}

function windowSeconds (d: LimitDecision): number {
  return Math.max(1, Math.ceil((d.windowMs ?? 1000) / 1000))
}

function policyName (d: LimitDecision): string {
  return d.scope === 'tenant' ? '"tenant"' : '"default"'
}

function policyItem (d: LimitDecision): string {
  return `${policyName(d)};q=${d.limit};w=${windowSeconds(d)}`
}

function limitItem (d: LimitDecision, nowMs: number): string {
  const t = d.resetAtMs > nowMs ? Math.ceil((d.resetAtMs - nowMs) / 1000) : 0
  return `${policyName(d)};r=${d.remaining};t=${t}`
}

/** The key's decision first, then the tenant's, whichever of them binds. */
function ordered (d: LimitDecision): [LimitDecision, LimitDecision | undefined] {
  const o = d.other
  if (o === undefined) return [d, undefined]
  return d.scope === 'tenant' ? [o, d] : [d, o]
}

export function ietfPolicyHeader (d: LimitDecision): string {
  const [a, b] = ordered(d)
  return b === undefined ? policyItem(a) : `${policyItem(a)}, ${policyItem(b)}`
}

export function ietfLimitHeader (d: LimitDecision, nowMs: number): string {
  const [a, b] = ordered(d)
  return b === undefined ? limitItem(a, nowMs) : `${limitItem(a, nowMs)}, ${limitItem(b, nowMs)}`
}

/** Every header of a decision, as a plain object (msw handlers, tests). Retry-After only on a refusal. */
export function rateLimitHeaders (d: LimitDecision, nowMs: number, ietf: boolean): Record<string, string> {
  const h: Record<string, string> = {
    'x-ratelimit-limit': String(d.limit),
    'x-ratelimit-remaining': String(d.remaining),
    'x-ratelimit-reset': String(resetSeconds(d))
  }
  if (ietf) {
    h['ratelimit-policy'] = ietfPolicyHeader(d)
    h.ratelimit = ietfLimitHeader(d, nowMs)
  }
  if (!d.allowed) h['retry-after'] = String(d.retryAfterS)
  return h
}
