// Body and query validation with one detail per bad field (contract 1.5, 1.6), against the JSON Schemas
// of schemas.ts (the same ones GET /openapi.json publishes). Interpreted here rather than by Ajv so
// types are never coerced ("name": 123 is an error, not "123") and each detail carries the field's own
// message saying what to send.
import { ApiError, type ErrorDetail } from './errors.ts'
import type { WalletType } from './domain/wallet-store.ts'
import type { Chain } from './domain/addresses.ts'
import { NETWORKS, type Network } from './domain/key-store.ts'
import { KEY_FIELDS, WALLET_CREATE, WALLET_LIST_QUERY, type FieldSchema, type ObjectSchema } from './schemas.ts'
import { redactSecrets } from './domain/secret-windows.ts'

const patterns = new Map<string, RegExp>()
function regex (pattern: string): RegExp {
  let re = patterns.get(pattern)
  if (re === undefined) { re = new RegExp(pattern, 'u'); patterns.set(pattern, re) }
  return re
}

function hasType (s: FieldSchema, v: unknown): boolean {
  if (s.type === undefined) return true
  for (const t of Array.isArray(s.type) ? s.type : [s.type]) {
    switch (t) {
      case 'null': if (v === null) return true; break
      case 'string': if (typeof v === 'string') return true; break
      case 'integer': if (Number.isInteger(v)) return true; break
      case 'number': if (typeof v === 'number' && Number.isFinite(v)) return true; break
      case 'boolean': if (typeof v === 'boolean') return true; break
      case 'array': if (Array.isArray(v)) return true; break
      case 'object': if (typeof v === 'object' && v !== null && !Array.isArray(v)) return true; break
    }
  }
  return false
}

/** Whether `v` satisfies `s` (the keywords of FieldSchema; lengths count code points, as JSON Schema does). */
export function conforms (s: FieldSchema, v: unknown): boolean {
  if (!hasType(s, v)) return false
  if (s.enum !== undefined && !s.enum.includes(v as string | number)) return false
  if (typeof v === 'string') {
    if (s.minLength !== undefined || s.maxLength !== undefined) {
      const n = [...v].length
      if (n < (s.minLength ?? 0) || n > (s.maxLength ?? Infinity)) return false
    }
    if (s.pattern !== undefined && !regex(s.pattern).test(v)) return false
    if (s.format === 'date-time' && !Number.isFinite(Date.parse(v))) return false
  } else if (typeof v === 'number') {
    if (v < (s.minimum ?? -Infinity) || v > (s.maximum ?? Infinity)) return false
  } else if (Array.isArray(v)) {
    if (v.length < (s.minItems ?? 0) || v.length > (s.maxItems ?? Infinity)) return false
    if (s.items !== undefined && !v.every((x) => conforms(s.items!, x))) return false
  }
  return true
}

function detail (field: string, s: FieldSchema): ErrorDetail {
  return { field, message: s['x-message'] ?? 'is invalid' }
}

/**
 * Unknown fields first (when the schema allows none), then each property in schema order: a required
 * one that is absent, or a present one that does not conform, gets its detail. `null` is absent for
 * properties whose type allows it. `skip`: properties another check reports (keyFields).
 */
export function checkObject (schema: ObjectSchema, o: Record<string, unknown>, d: ErrorDetail[], skip: readonly string[] = []): void {
  if (!schema.additionalProperties) unknownFields(o, schema.properties, d)
  for (const [k, s] of Object.entries(schema.properties)) {
    if (skip.includes(k)) continue
    const v = o[k]
    if (v === undefined) { if (schema.required?.includes(k) === true) d.push(detail(k, s)); continue }
    if (!conforms(s, v)) d.push(detail(k, s))
  }
}

/**
 * A query string against its schema: values arrive as strings, so an integer is 1 to (digits of its
 * maximum, else 15) decimal digits within its bounds. Returns the values, integers as numbers.
 */
export function checkQuery (schema: ObjectSchema, query: unknown, d: ErrorDetail[]): Record<string, unknown> {
  const q = (query ?? {}) as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const [k, s] of Object.entries(schema.properties)) {
    const v = q[k]
    if (v === undefined) { if (schema.required?.includes(k) === true) d.push(detail(k, s)); continue }
    if (s.type === 'integer') {
      const digits = s.maximum === undefined ? 15 : String(s.maximum).length
      const n = typeof v === 'string' && v.length <= digits && /^\d+$/.test(v) ? Number(v) : Number.NaN
      if (Number.isNaN(n) || !conforms(s, n)) d.push(detail(k, s))
      else out[k] = n
    } else if (!conforms(s, v)) {
      d.push(detail(k, s))
    } else {
      out[k] = v
    }
  }
  return out
}

export function objectBody (body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError('validation_error', 'The body must be a JSON object.', [{ field: 'body', message: 'must be a JSON object' }])
  }
  return body as Record<string, unknown>
}

function unknownFields (o: Record<string, unknown>, allowed: Record<string, unknown> | readonly string[], d: ErrorDetail[]): void {
  const known = Array.isArray(allowed) ? (k: string) => allowed.includes(k) : (k: string) => Object.hasOwn(allowed, k)
  for (const k of Object.keys(o)) if (!known(k)) d.push({ field: k, message: 'unknown field' })
}

function fail (d: ErrorDetail[], what: string): void {
  if (d.length > 0) throw new ApiError('validation_error', `${what} is invalid; see details.`, d)
}

export function walletCreateBody (body: unknown): { name: string, type: WalletType, chain: Chain } {
  const o = objectBody(body)
  const d: ErrorDetail[] = []
  checkObject(WALLET_CREATE, o, d)
  // A wallet's name is listed to every reader of the tenant and logged: it must not be (a piece of) a key.
  if (typeof o.name === 'string' && !d.some((x) => x.field === 'name') && redactSecrets(o.name) !== o.name) d.push({ field: 'name', message: 'must not contain an API key or a piece of one' })
  fail(d, 'The wallet')
  return { name: o.name as string, type: o.type as WalletType, chain: o.chain as Chain }
}

export function walletListQuery (query: unknown): { limit: number, cursor: string | undefined, chain: Chain | undefined } {
  const d: ErrorDetail[] = []
  const q = checkQuery(WALLET_LIST_QUERY, query, d)
  fail(d, 'The query')
  return { limit: (q.limit as number | undefined) ?? 20, cursor: q.cursor as string | undefined, chain: q.chain as Chain | undefined }
}

export interface KeyCreateInput {
  name: string
  scopes: string[]
  rateLimit: number | undefined
  expiresAtMs: number | undefined
  network?: Network | undefined
}

/** Shared by POST /api/keys and POST /__harness/keys. `now` rejects an expiry in the past. */
export function keyFields (o: Record<string, unknown>, d: ErrorDetail[], now: number, defaults: { scopes: readonly string[] }): KeyCreateInput {
  const { name, scopes, rateLimit, expiresAt, network } = o
  checkObject({ type: 'object', properties: KEY_FIELDS, additionalProperties: true }, o, d)
  if (network !== undefined && network !== null && !(NETWORKS as readonly unknown[]).includes(network)) d.push({ field: 'network', message: `must be one of ${NETWORKS.join(', ')} (the key then works on that X-Network only), or null` })
  // A key's name is listed and logged: it must not be (a piece of) a key.
  if (typeof name === 'string' && !d.some((x) => x.field === 'name') && redactSecrets(name) !== name) d.push({ field: 'name', message: 'must not contain an API key or a piece of one' })
  let expiresAtMs: number | undefined
  if (typeof expiresAt === 'string' && conforms(KEY_FIELDS.expiresAt, expiresAt)) {
    expiresAtMs = Date.parse(expiresAt)
    if (expiresAtMs <= now) d.push({ field: 'expiresAt', message: 'must be in the future' })
  }
  return {
    name: typeof name === 'string' ? name : 'key',
    scopes: Array.isArray(scopes) ? [...new Set(scopes as string[])] : [...defaults.scopes],
    rateLimit: typeof rateLimit === 'number' ? rateLimit : undefined,
    expiresAtMs,
    ...(typeof network === 'string' ? { network: network as Network } : {})
  }
}

export { fail as throwIfDetails }
