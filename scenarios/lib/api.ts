// One helper per endpoint of the Tenzro API (contract 1-6) and of the mock's control API (7.4). Each
// sets tags.name to the route pattern and the headers of contract 1.2; the API key travels only in
// X-API-Key, never in a URL, so no metric tag or log line carries it.
import { rateLimitedResponses } from './metrics.ts'
import { query, send } from './http.ts'
import type { RequestSpec, Response } from './http.ts'

export const ROUTES = {
  health: 'GET /health',
  eventsHealth: 'GET /api/events/health',
  validate: 'GET /api/keys/validate',
  walletList: 'GET /api/wallet/list',
  walletCreate: 'POST /api/wallet/create',
  eventStream: 'GET /api/events/stream',
  ctlTenants: 'POST /__harness/tenants',
  ctlKeys: 'POST /__harness/keys',
  ctlFaultsGet: 'GET /__harness/faults',
  ctlFaultsPut: 'PUT /__harness/faults',
  ctlFaultsDelete: 'DELETE /__harness/faults',
  ctlEvents: 'POST /__harness/events'
} as const

export interface Target {
  baseUrl: string
  network?: string | undefined
}

export interface Credentials {
  apiKey: string
  /** Tenant id or slug (contract 2.2). */
  tenantId: string
}

export interface WalletInput {
  name: string
  type: 'mpc' | 'multi-sig' | 'single'
  chain: 'ethereum' | 'solana' | 'bitcoin'
}

function authHeaders (t: Target, c: Credentials, extra?: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = { 'X-API-Key': c.apiKey, 'X-Tenant-Id': c.tenantId, Accept: 'application/json' }
  if (t.network !== undefined) h['X-Network'] = t.network
  if (extra !== undefined) for (const k of Object.keys(extra)) h[k] = extra[k]!
  return h
}

/** Every authenticated API answer feeds rate_limited_responses (contract 5.1: each one counts). */
export function countLimit<R extends { status: number }> (res: R): R {
  if (res.status !== 0) rateLimitedResponses.add(res.status === 429)
  return res
}

// ---- public ---------------------------------------------------------------------------------------

export function health (t: Target): Response {
  return send({ method: 'GET', url: `${t.baseUrl}/health`, name: ROUTES.health, timeout: '10s' })
}

export function eventsHealth (t: Target): Response {
  return send({ method: 'GET', url: `${t.baseUrl}/api/events/health`, name: ROUTES.eventsHealth, timeout: '10s' })
}

// ---- authenticated --------------------------------------------------------------------------------

export function validateKey (t: Target, c: Credentials, expected?: number[]): Response {
  return countLimit(send({ method: 'GET', url: `${t.baseUrl}/api/keys/validate`, name: ROUTES.validate, headers: authHeaders(t, c), expected, timeout: '10s' }))
}

export function walletListSpec (t: Target, c: Credentials, q: { limit?: number, cursor?: string, chain?: string } = {}, expected?: number[]): RequestSpec {
  return { method: 'GET', url: `${t.baseUrl}/api/wallet/list${query(q)}`, name: ROUTES.walletList, headers: authHeaders(t, c), expected }
}

export function listWallets (t: Target, c: Credentials, q: { limit?: number, cursor?: string, chain?: string } = {}, expected?: number[]): Response {
  return countLimit(send(walletListSpec(t, c, q, expected)))
}

/** Contract 3.3; with an idempotency key the request is safe to repeat (6.1). */
export function walletCreateSpec (t: Target, c: Credentials, body: WalletInput, idempotencyKey?: string, expected?: number[]): RequestSpec {
  const extra = idempotencyKey === undefined ? undefined : { 'X-Idempotency-Key': idempotencyKey }
  return { method: 'POST', url: `${t.baseUrl}/api/wallet/create`, name: ROUTES.walletCreate, body: JSON.stringify(body), headers: authHeaders(t, c, extra), expected }
}

export function createWallet (t: Target, c: Credentials, body: WalletInput, idempotencyKey?: string, expected?: number[]): Response {
  return countLimit(send(walletCreateSpec(t, c, body, idempotencyKey, expected)))
}

export interface StreamRequest {
  subjects?: string
  /** `last_event_id` query parameter (contract 4.2). */
  lastEventIdQuery?: string
  /** `Last-Event-ID` header, which wins over the query (4.2), as a reconnecting EventSource sends it. */
  lastEventIdHeader?: string
  /** How long to wait for the server to end the stream. Stock k6 drops the body of a timed-out response. */
  timeoutMs: number
  expected?: number[]
}

/** Contract 4.1: reads the stream until the server closes it (an `sse-drop` fault) or the timeout. */
export function openStream (t: Target, c: Credentials, r: StreamRequest): Response {
  const extra: Record<string, string> = { Accept: 'text/event-stream', 'Cache-Control': 'no-cache' }
  if (r.lastEventIdHeader !== undefined && r.lastEventIdHeader !== '') extra['Last-Event-ID'] = r.lastEventIdHeader
  const url = `${t.baseUrl}/api/events/stream${query({ subjects: r.subjects, last_event_id: r.lastEventIdQuery })}`
  return countLimit(send({ method: 'GET', url, name: ROUTES.eventStream, headers: authHeaders(t, c, extra), timeout: r.timeoutMs, expected: r.expected }))
}

// ---- control API (the mock only, contract 7.4) ----------------------------------------------------

export interface Control {
  url: string
  token: string | undefined
}

function controlSpec (ctl: Control, method: RequestSpec['method'], path: string, name: string, body?: unknown): RequestSpec {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (ctl.token !== undefined) headers['X-Harness-Token'] = ctl.token
  return { method, url: `${ctl.url}${path}`, name, headers, body: body === undefined ? undefined : JSON.stringify(body), timeout: '10s', tags: { control: 'true' } }
}

export function ctlCreateTenant (ctl: Control, input: { slug?: string, rateLimit?: number }): Response {
  return send(controlSpec(ctl, 'POST', '/__harness/tenants', ROUTES.ctlTenants, input))
}

export function ctlCreateKey (ctl: Control, input: { tenant: string, rateLimit?: number }): Response {
  return send(controlSpec(ctl, 'POST', '/__harness/keys', ROUTES.ctlKeys, input))
}

export function ctlGetFaults (ctl: Control): Response {
  return send(controlSpec(ctl, 'GET', '/__harness/faults', ROUTES.ctlFaultsGet))
}

export function ctlPutFaults (ctl: Control, plan: { seed?: number, faults: unknown[] }): Response {
  return send(controlSpec(ctl, 'PUT', '/__harness/faults', ROUTES.ctlFaultsPut, plan))
}

export function ctlDeleteFaults (ctl: Control): Response {
  return send(controlSpec(ctl, 'DELETE', '/__harness/faults', ROUTES.ctlFaultsDelete))
}

export function ctlPublishEvent (ctl: Control, tenant: string, type: string, data: unknown): Response {
  return send(controlSpec(ctl, 'POST', '/__harness/events', ROUTES.ctlEvents, { tenant, type, data }))
}
