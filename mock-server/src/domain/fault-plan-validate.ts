// Validation of a fault plan (contract 7.2), once when it is set: every bad field is named, and a plan
// that carries a key, or a piece of one, is refused (it is logged and answered back).
import type { ErrorDetail } from '../errors.ts'
import { ApiError } from '../errors.ts'
import { redactSecrets } from './secret-windows.ts'
import { FAULT_TYPES, ROUTE_RE, type FaultPlanInput, type FaultType } from './fault-types.ts'

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
