// Body and query validation with one detail per bad field (contract 1.5, 1.6). Hand-written rather than
// Ajv so types are never coerced ("name": 123 is an error, not "123") and messages say what to send.
import { ApiError, type ErrorDetail } from './errors.ts'
import { CHAINS, WALLET_TYPES, type WalletType } from './domain/wallet-store.ts'
import type { Chain } from './domain/addresses.ts'
import { isValidScope, NETWORKS, type Network } from './domain/key-store.ts'

// Printable: no control characters (C0, DEL, C1), no lone surrogates.
const PRINTABLE = /^[^\p{Cc}\p{Cs}]+$/u

export function objectBody (body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError('validation_error', 'The body must be a JSON object.', [{ field: 'body', message: 'must be a JSON object' }])
  }
  return body as Record<string, unknown>
}

function unknownFields (o: Record<string, unknown>, allowed: readonly string[], d: ErrorDetail[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) d.push({ field: k, message: 'unknown field' })
}

function fail (d: ErrorDetail[], what: string): void {
  if (d.length > 0) throw new ApiError('validation_error', `${what} is invalid; see details.`, d)
}

export function walletCreateBody (body: unknown): { name: string, type: WalletType, chain: Chain } {
  const o = objectBody(body)
  const d: ErrorDetail[] = []
  unknownFields(o, ['name', 'type', 'chain'], d)
  const { name, type, chain } = o
  if (typeof name !== 'string' || name.length < 1 || [...name].length > 64 || !PRINTABLE.test(name)) d.push({ field: 'name', message: 'must be 1-64 printable characters' })
  if (typeof type !== 'string' || !(WALLET_TYPES as readonly string[]).includes(type)) d.push({ field: 'type', message: `must be one of ${WALLET_TYPES.join(', ')}` })
  if (typeof chain !== 'string' || !(CHAINS as readonly string[]).includes(chain)) d.push({ field: 'chain', message: `must be one of ${CHAINS.join(', ')}` })
  fail(d, 'The wallet')
  return { name: name as string, type: type as WalletType, chain: chain as Chain }
}

export function walletListQuery (query: unknown): { limit: number, cursor: string | undefined, chain: Chain | undefined } {
  const q = (query ?? {}) as Record<string, unknown>
  const d: ErrorDetail[] = []
  let limit = 20
  if (q.limit !== undefined) {
    const s = q.limit
    if (typeof s !== 'string' || !/^\d{1,3}$/.test(s) || Number(s) < 1 || Number(s) > 100) d.push({ field: 'limit', message: 'must be an integer 1-100' })
    else limit = Number(s)
  }
  if (q.cursor !== undefined && (typeof q.cursor !== 'string' || q.cursor.length === 0)) d.push({ field: 'cursor', message: 'must be a cursor returned by this API' })
  if (q.chain !== undefined && (typeof q.chain !== 'string' || !(CHAINS as readonly string[]).includes(q.chain))) d.push({ field: 'chain', message: `must be one of ${CHAINS.join(', ')}` })
  fail(d, 'The query')
  return { limit, cursor: q.cursor as string | undefined, chain: q.chain as Chain | undefined }
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
  if (network !== undefined && network !== null && !(NETWORKS as readonly unknown[]).includes(network)) d.push({ field: 'network', message: `must be one of ${NETWORKS.join(', ')} (the key then works on that X-Network only), or null` })
  if (name !== undefined && (typeof name !== 'string' || name.length < 1 || name.length > 64 || !PRINTABLE.test(name))) d.push({ field: 'name', message: 'must be 1-64 printable characters' })
  if (scopes !== undefined && (!Array.isArray(scopes) || scopes.length === 0 || scopes.length > 8 || !scopes.every(isValidScope))) d.push({ field: 'scopes', message: 'must be a non-empty array of wallet:read, wallet:write, events:read, <service>:* or admin:*' })
  if (rateLimit !== undefined && rateLimit !== null && (typeof rateLimit !== 'number' || !Number.isInteger(rateLimit) || rateLimit < 1 || rateLimit > 1e9)) d.push({ field: 'rateLimit', message: 'must be an integer >= 1 (requests per window)' })
  let expiresAtMs: number | undefined
  if (expiresAt !== undefined && expiresAt !== null) {
    expiresAtMs = typeof expiresAt === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(expiresAt) ? Date.parse(expiresAt) : Number.NaN
    if (!Number.isFinite(expiresAtMs)) d.push({ field: 'expiresAt', message: 'must be an ISO-8601 date-time' })
    else if (expiresAtMs <= now) d.push({ field: 'expiresAt', message: 'must be in the future' })
  }
  return {
    name: typeof name === 'string' ? name : 'key',
    scopes: Array.isArray(scopes) ? [...new Set(scopes as string[])] : [...defaults.scopes],
    rateLimit: typeof rateLimit === 'number' ? rateLimit : undefined,
    expiresAtMs,
    ...(typeof network === 'string' ? { network: network as Network } : {})
  }
}

export function checkFields (o: Record<string, unknown>, allowed: readonly string[], d: ErrorDetail[]): void {
  unknownFields(o, allowed, d)
}

export { fail as throwIfDetails }
