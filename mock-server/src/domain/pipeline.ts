// The mock's per-request pipeline, framework-free: request ids and common headers (contract 1.2),
// authentication (2), rate limits (5), idempotency (6), REST faults (7.2), body parsing, the error
// envelope (1.5), the record entry (7.3) and the event stream's opening (4). The Fastify plugins and
// routes and the msw handlers (src/msw) run these same functions in the same order, so the two mocks
// cannot drift apart (house style, "Layout"). Every refusal that carries no per-request data is built
// once (house style principle 2).
import { randomBytes } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import type { MockConfig } from '../config.ts'
import type { MockContext } from '../context.ts'
import { ApiError, MESSAGES, type ErrorDetail } from '../errors.ts'
import type { AuthContext, RequestState, RouteAccess } from '../types.ts'
import { describeKey, DEFAULT_SCOPES, hasScope, type KeyStore, type Tenant } from './key-store.ts'
import type { Wallet, WalletStore } from './wallet-store.ts'
import { checkFields, keyFields, objectBody, throwIfDetails, walletCreateBody, walletListQuery } from '../validate.ts'
import { bodyHash, IDEMPOTENCY_KEY_RE, type IdempotencyStore, type StoredResponse } from './idempotency-store.ts'
import type { FaultPlan, RestFaultDecision, SseFaultDecision } from './fault-plan.ts'
import { ALGORITHMS, LimiterUnavailableError, type LimitDecision, type LimitPolicy, type LimiterStore } from './limiter/types.ts'
import { ietfLimitHeader, ietfPolicyHeader, resetSeconds } from './limiter/headers.ts'
import { parseSubjects, type SubjectFilter } from './event-log/subjects.ts'
import type { RecordEntryType } from './record.ts'
import { retryFrame } from '../sse/frames.ts'
import { SseStream, type SseContext } from '../sse/stream.ts'
import type { StreamRegistry } from '../sse/registry.ts'

/** Request headers as Node gives them: lower-case names (Fetch `Headers` turned into an object fits too). */
export type HeaderBag = Record<string, string | string[] | undefined>

// ---- request ids and common headers (contract 1.2, 1.3) ------------------------------------------

export const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/
// A key fits REQUEST_ID_RE; echoing it would put the secret in every log line and answer (1.5).
const KEYISH_ID_RE = /tnz_/i
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

const LOW_DIGITS: readonly string[] = Array.from({ length: 1024 }, (_, i) => i.toString(32).toUpperCase().padStart(2, '0'))

/**
 * `req_` + 26 chars (contract 1.2): 10 random chars per generator, then a 16-char base-32 counter.
 * The counter's last two digits come from a table and the rest changes once per 1024 ids, so an id
 * costs one concatenation.
 */
export function createRequestIdGenerator (): () => string {
  let prefix = 'req_'
  for (const b of randomBytes(10)) prefix += CROCKFORD[b & 31]
  let n = 0
  let head = ''
  return () => {
    n++
    const low = n & 1023
    if (low === 0 || head === '') head = prefix + Math.floor(n / 1024).toString(32).toUpperCase().padStart(14, '0')
    return head + LOW_DIGITS[low]!
  }
}

/** The client's X-Request-Id when it is 1-128 allowed chars and not key-shaped, else a fresh one. */
export function requestIdFor (header: unknown, next: () => string): string {
  return typeof header === 'string' && REQUEST_ID_RE.test(header) && !KEYISH_ID_RE.test(header) ? header : next()
}

const NETWORKS = new Set(['devnet', 'testnet', 'mainnet'])
const unsupportedVersion = new ApiError('unsupported_api_version', 'X-API-Version must be 1 (or absent).', [{ field: 'X-API-Version', message: 'must be 1' }])
const badNetwork = new ApiError('validation_error', 'X-Network must be devnet, testnet or mainnet.', [{ field: 'X-Network', message: 'must be devnet, testnet or mainnet' }])

/** X-API-Version and X-Network (1.2): the refusal, or undefined when both are acceptable. */
export function checkCommonHeaders (headers: HeaderBag): ApiError | undefined {
  const version = headers['x-api-version']
  if (version !== undefined && version !== '1') return unsupportedVersion
  const network = headers['x-network']
  if (network !== undefined && (typeof network !== 'string' || !NETWORKS.has(network))) return badNetwork
  return undefined
}

const NO_CONFIG: RequestState['config'] = Object.freeze({})

/** A fresh per-request state (the record entry is built from it, 7.3). */
export function newRequestState (): RequestState {
  return {
    startNs: process.hrtime.bigint(),
    config: NO_CONFIG,
    route: undefined,
    auth: undefined,
    authOutcome: undefined,
    authCode: undefined,
    keyRef: undefined,
    rateLimit: undefined,
    faults: undefined,
    idempotencyKey: undefined,
    replayed: false,
    errorCode: undefined,
    traceId: undefined
  }
}

// ---- authentication (contract 1.2, 2) -------------------------------------------------------------

type AuthCode = 'missing_api_key' | 'invalid_api_key' | 'expired_api_key' | 'revoked_api_key' | 'missing_tenant_id' | 'tenant_mismatch' | 'insufficient_scope'

const AUTH_FIELD: Record<AuthCode, string> = {
  missing_api_key: 'X-API-Key',
  invalid_api_key: 'X-API-Key',
  expired_api_key: 'X-API-Key',
  revoked_api_key: 'X-API-Key',
  missing_tenant_id: 'X-Tenant-Id',
  tenant_mismatch: 'X-Tenant-Id',
  insufficient_scope: 'scope'
}

function buildAuthErrors (fieldFor: (code: AuthCode) => string): Record<AuthCode, ApiError> {
  const out = {} as Record<AuthCode, ApiError>
  for (const code of Object.keys(AUTH_FIELD) as AuthCode[]) {
    out[code] = new ApiError(code, MESSAGES[code], [{ field: fieldFor(code), message: MESSAGES[code] }])
  }
  return out
}

const AUTH_ERRORS = buildAuthErrors((c) => AUTH_FIELD[c])
const ADMIN_AUTH_ERRORS = buildAuthErrors((c) => (AUTH_FIELD[c] === 'X-API-Key' ? 'X-Admin-API-Key' : AUTH_FIELD[c]))

/** The presented key: X-API-Key wins over Authorization: Bearer (contract 1.2). */
export function presentedKey (headers: HeaderBag, header: 'x-api-key' | 'x-admin-api-key'): { key: string | undefined, via: string | undefined } {
  const k = headers[header]
  if (typeof k === 'string' && k.length > 0) return { key: k, via: header }
  if (header === 'x-api-key') {
    const a = headers.authorization
    if (typeof a === 'string' && a.length > 7 && a.slice(0, 7).toLowerCase() === 'bearer ') return { key: a.slice(7).trim(), via: 'authorization' }
  }
  return { key: undefined, via: undefined }
}

export type AuthResult =
  /** `auth` is undefined on public and control routes, which need no key. */
  | { ok: true, auth: AuthContext | undefined, keyRef: string | undefined }
  /** `tenantId`: on a refused attempt, the tenant the key belongs to (or claims) when it exists (2.7). */
  | { ok: false, error: ApiError, code: AuthCode, keyRef: string | undefined, tenantId: string | undefined }

function refused (code: AuthCode, admin: boolean, keyRef: string | undefined, tenantId: string | undefined): AuthResult {
  return { ok: false, error: (admin ? ADMIN_AUTH_ERRORS : AUTH_ERRORS)[code], code, keyRef, tenantId }
}

/**
 * Contract 2, in this order: key present, key valid (format, known, not revoked, not expired), then
 * for tenant routes the tenant header present and matching, then the route's scope. Admin routes
 * (2.6) read X-Admin-API-Key and need admin:*; the route itself binds them to the key's tenant (3.4).
 */
export function authenticate (headers: HeaderBag, keys: KeyStore, access: RouteAccess): AuthResult {
  if (access.public === true || access.control === true) return { ok: true, auth: undefined, keyRef: undefined }
  const admin = access.admin === true
  const { key } = presentedKey(headers, admin ? 'x-admin-api-key' : 'x-api-key')
  if (key === undefined) return refused('missing_api_key', admin, undefined, undefined)
  const v = keys.verify(key)
  if (!v.ok) return refused(v.code as AuthCode, admin, v.keyRef, v.tenantId)
  const { key: record, tenant } = v
  if (admin) {
    if (!hasScope(record.scopes, 'admin:*')) return refused('insufficient_scope', true, record.id, tenant.id)
  } else {
    const t = headers['x-tenant-id']
    // A key-validation call may omit the tenant; every other route needs it (1.2).
    if (typeof t !== 'string' || t.length === 0) {
      if (access.scope !== undefined) return refused('missing_tenant_id', false, record.id, tenant.id)
    } else if (t !== tenant.id && t !== tenant.slug) {
      return refused('tenant_mismatch', false, record.id, tenant.id)
    }
    if (access.scope !== undefined && !hasScope(record.scopes, access.scope)) return refused('insufficient_scope', false, record.id, tenant.id)
  }
  return { ok: true, auth: { tenantId: tenant.id, tenantSlug: tenant.slug, keyId: record.id, scopes: record.scopes, rateLimit: record.rateLimit }, keyRef: record.id }
}

/** Write an authentication outcome onto the request state (2.7). */
export function applyAuth (state: RequestState, r: AuthResult): void {
  state.keyRef = r.keyRef
  if (r.ok) {
    if (r.auth !== undefined) {
      state.authOutcome = 'ok'
      state.auth = r.auth
    }
    return
  }
  state.authOutcome = 'refused'
  state.authCode = r.code
  state.authTenant = r.tenantId
}

// ---- REST faults (contract 7.2) -------------------------------------------------------------------

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

// ---- rate limits (contract 5) ---------------------------------------------------------------------

/** One route's limiter, compiled once. */
export interface RouteLimiter {
  /** `"GET /api/wallet/list"`: the key of config.rateLimit.routes. */
  id: string
  /** The route pattern, for fault scopes. */
  url: string
  exempt: boolean
  /** Appended to the key's bucket: empty for the key's shared bucket, `|<id>` for a route with its own policy. */
  bucketSuffix: string
  /** The route's policy for keys without a limit of their own. */
  policy: LimitPolicy
  /** Policies by limit, for keys with their own (contract 2.3): built once per distinct limit. */
  byLimit: Map<number, LimitPolicy>
  /** Bucket names by key id, made once per key: the store finds a bucket by a string it has hashed before. */
  buckets: Map<string, string>
}

export interface RateLimitOptions {
  config: MockConfig['rateLimit']
  store: LimiterStore
  context: () => MockContext
  /** The store became unreachable (the answer is 503 until it is back). */
  onOutage?: (err: unknown) => void
  /** A store call succeeded after an outage. */
  onRecovered?: () => void
}

/** Where response headers go: a Fastify reply, or a plain object through `headers()`. */
export interface HeaderSink {
  header (name: string, value: string): unknown
}

const STORE_RETRY_AFTER_S = 1
const MAX_CACHED_REFUSALS = 4096
const MAX_CACHED_BUCKET_NAMES = 10_000

function checkPolicy (where: string, p: Partial<LimitPolicy>): void {
  if (p.limit !== undefined && !(Number.isInteger(p.limit) && p.limit >= 1)) throw new TypeError(`${where}: rateLimit.limit must be an integer >= 1`)
  if (p.windowMs !== undefined && !(Number.isInteger(p.windowMs) && p.windowMs >= 1000)) throw new TypeError(`${where}: rateLimit.windowMs must be an integer >= 1000`)
  if (p.algorithm !== undefined && !ALGORITHMS.includes(p.algorithm)) throw new TypeError(`${where}: rateLimit.algorithm must be one of ${ALGORITHMS.join(', ')}`)
}

/**
 * Contract 5: every authenticated request counts against its key (and its tenant's quota when the
 * tenant has one). `check` answers synchronously with the memory store and with a promise with Redis.
 * A forced burst (fault rate-limit-burst, 7.2) is a refusal through the same path that consumes nothing.
 */
export function createRateLimit (opts: RateLimitOptions) {
  const rl = opts.config
  const store = opts.store
  const defaults: LimitPolicy = { algorithm: rl.algorithm, limit: rl.limit, windowMs: rl.windowMs }
  const tenantPolicies = new Map<number, LimitPolicy>()
  const refusals = new Map<number, ApiError>()
  const unavailable = new ApiError('service_unavailable', 'The rate-limit store is unreachable, so no request can be counted; retry after Retry-After seconds.',
    [{ field: 'retryAfter', message: String(STORE_RETRY_AFTER_S) }], { 'retry-after': String(STORE_RETRY_AFTER_S) })
  let outage = false
  if (rl.enabled) for (const [id, p] of Object.entries(rl.routes)) checkPolicy(`config.rateLimit.routes["${id}"]`, p)

  function outageStarts (err: unknown): void {
    if (outage) return
    outage = true
    opts.onOutage?.(err)
  }

  function keyPolicy (route: RouteLimiter, keyLimit: number | undefined): LimitPolicy {
    if (keyLimit === undefined) return route.policy
    let p = route.byLimit.get(keyLimit)
    if (p === undefined) {
      p = { algorithm: route.policy.algorithm, limit: keyLimit, windowMs: route.policy.windowMs }
      route.byLimit.set(keyLimit, p)
    }
    return p
  }

  function tenantPolicy (quota: number): LimitPolicy {
    let p = tenantPolicies.get(quota)
    if (p === undefined) {
      p = { algorithm: rl.algorithm, limit: quota, windowMs: rl.windowMs }
      tenantPolicies.set(quota, p)
    }
    return p
  }

  function refusal (retryAfterS: number): ApiError {
    let e = refusals.get(retryAfterS)
    if (e === undefined) {
      const s = String(retryAfterS)
      e = new ApiError('rate_limited', MESSAGES.rate_limited, [{ field: 'retryAfter', message: s }], { 'retry-after': s })
      if (refusals.size < MAX_CACHED_REFUSALS) refusals.set(retryAfterS, e)
    }
    return e
  }

  function special (policy: LimitPolicy, nowMs: number, retryAfterS: number, source: 'burst-fault' | 'store-unavailable'): LimitDecision {
    return {
      allowed: false,
      limit: policy.limit,
      remaining: 0,
      resetAtMs: nowMs + retryAfterS * 1000,
      retryAfterS,
      scope: 'key',
      algorithm: policy.algorithm,
      windowMs: policy.windowMs,
      source,
      overAdmitShare: 0,
      other: undefined
    }
  }

  function recovered (d: LimitDecision): LimitDecision {
    if (outage) { outage = false; opts.onRecovered?.() }
    return d
  }

  /**
   * X-RateLimit-* (5.2), the IETF fields when configured, and Retry-After on a refusal (5.3). None
   * when the store is down: nothing was counted, so there is nothing true to say (the 503 carries Retry-After).
   */
  function writeHeaders (d: LimitDecision, nowMs: number, sink: HeaderSink): void {
    if (d.source === 'store-unavailable') return
    sink.header('x-ratelimit-limit', String(d.limit))
    sink.header('x-ratelimit-remaining', String(d.remaining))
    sink.header('x-ratelimit-reset', String(resetSeconds(d)))
    if (rl.ietfHeaders) {
      sink.header('ratelimit-policy', ietfPolicyHeader(d))
      sink.header('ratelimit', ietfLimitHeader(d, nowMs))
    }
    if (!d.allowed) sink.header('retry-after', String(d.retryAfterS))
  }

  return {
    enabled: rl.enabled,
    store,

    /** Compile a route's limiter (at registration). `access.rateLimit` may give the route its own policy or exempt it. */
    compile (method: string, url: string, access: RouteAccess | undefined): RouteLimiter {
      const m = method === 'HEAD' ? 'GET' : method
      const id = `${m} ${url}`
      const own = access?.rateLimit
      const fromConfig = rl.routes[id]
      const exempt = own === false || access?.public === true
      if (own !== undefined && own !== false) checkPolicy(`route ${id}`, own)
      const mine = own === false ? undefined : own
      // The route's own options win over config.rateLimit.routes, which wins over the defaults.
      const policy: LimitPolicy = {
        algorithm: mine?.algorithm ?? fromConfig?.algorithm ?? defaults.algorithm,
        limit: mine?.limit ?? fromConfig?.limit ?? defaults.limit,
        windowMs: mine?.windowMs ?? fromConfig?.windowMs ?? defaults.windowMs
      }
      const isSpecial = fromConfig !== undefined || mine !== undefined
      return { id, url, exempt, bucketSuffix: isSpecial ? `|${id}` : '', policy, byLimit: new Map([[policy.limit, policy]]), buckets: new Map() }
    },

    /**
     * Count one request. Undefined when the request is not limited (limits off, no key, exempt route).
     * An unreachable store gives a refusal with source 'store-unavailable' (answered 503, never admitted blindly).
     */
    check (nowMs: number, auth: AuthContext | undefined, method: string, route: RouteLimiter, burst: { retryAfterS: number } | undefined): LimitDecision | Promise<LimitDecision> | undefined {
      if (!rl.enabled || auth === undefined) return undefined
      if (route.exempt && burst === undefined) return undefined
      const policy = keyPolicy(route, auth.rateLimit)
      if (burst !== undefined) return special(policy, nowMs, burst.retryAfterS, 'burst-fault')
      const mock = opts.context()
      const plan = mock.faults
      const share = plan.empty
        ? 0
        : plan.overAdmitShare({ tenantId: auth.tenantId, tenantSlug: auth.tenantSlug, keyId: auth.keyId, method, route: route.url })
      const quota = mock.keys.tenant(auth.tenantId)?.quota
      let keyBucket = route.buckets.get(auth.keyId)
      if (keyBucket === undefined) {
        keyBucket = 'k:' + auth.keyId + route.bucketSuffix
        if (route.buckets.size >= MAX_CACHED_BUCKET_NAMES) route.buckets.clear()
        route.buckets.set(auth.keyId, keyBucket)
      }
      const r = quota === undefined
        ? store.consume(nowMs, keyBucket, policy, undefined, undefined, share)
        : store.consume(nowMs, keyBucket, policy, 't:' + auth.tenantId, tenantPolicy(quota), share)
      if (!(r instanceof Promise)) return r
      return r.then(recovered, (err: unknown) => {
        if (!(err instanceof LimiterUnavailableError)) throw err
        outageStarts(err)
        return special(policy, nowMs, STORE_RETRY_AFTER_S, 'store-unavailable')
      })
    },

    /** The refusal to answer for a decision (429 rate_limited, or 503 when the store is down), or undefined. */
    errorFor (d: LimitDecision): ApiError | undefined {
      if (d.allowed) return undefined
      return d.source === 'store-unavailable' ? unavailable : refusal(d.retryAfterS)
    },

    writeHeaders,

    /** The headers of `writeHeaders` as an object. */
    headers (d: LimitDecision, nowMs: number): Record<string, string> {
      const h: Record<string, string> = {}
      writeHeaders(d, nowMs, { header (name, value) { h[name] = value } })
      return h
    },

    /** The store is known to be unreachable without a request having failed (a Redis store that did not connect at start). */
    outage: outageStarts,

    reset (): void | Promise<void> {
      return store.reset()
    }
  }
}

export type RateLimit = ReturnType<typeof createRateLimit>

// ---- idempotency (contract 6) ---------------------------------------------------------------------

const badIdempotencyKey = new ApiError('validation_error', 'X-Idempotency-Key must be 1-255 printable ASCII characters.', [{ field: 'X-Idempotency-Key', message: 'must be 1-255 printable characters' }])
const idempotencyInProgress = new ApiError('idempotency_in_progress', MESSAGES.idempotency_in_progress, [{ field: 'X-Idempotency-Key', message: 'in progress' }])
const idempotencyReused = new ApiError('idempotency_key_reused', MESSAGES.idempotency_key_reused, [{ field: 'X-Idempotency-Key', message: 'used with a different body' }])

export type IdempotencyStart =
  /** Not an authenticated POST: idempotency does not apply. */
  | { kind: 'skip' }
  /** A POST without a key: it runs, and the record marks it (6.2). */
  | { kind: 'missing' }
  | { kind: 'new', key: string }
  | { kind: 'replay', key: string, response: StoredResponse }
  | { kind: 'refused', key: string | undefined, error: ApiError }

/**
 * Contract 6.1: the first POST with a key runs and its answer is stored; the same key and body
 * replays it; another body is 422; a duplicate while the first still runs is 409.
 */
export function beginIdempotency (store: IdempotencyStore, method: string, auth: AuthContext | undefined, access: RouteAccess, header: unknown, body: unknown): IdempotencyStart {
  if (method !== 'POST' || auth === undefined || access.control === true) return { kind: 'skip' }
  if (header === undefined) return { kind: 'missing' }
  if (typeof header !== 'string' || !IDEMPOTENCY_KEY_RE.test(header)) return { kind: 'refused', key: undefined, error: badIdempotencyKey }
  const r = store.begin(auth.tenantId, header, bodyHash(body))
  switch (r.kind) {
    case 'new': return { kind: 'new', key: header }
    case 'replay': return { kind: 'replay', key: header, response: r.response }
    case 'in_progress': return { kind: 'refused', key: header, error: idempotencyInProgress }
    case 'mismatch': return { kind: 'refused', key: header, error: idempotencyReused }
  }
}

/** Write the start of the idempotency flow onto the request state (the record reads it, 7.3). */
export function applyIdempotency (state: RequestState, r: IdempotencyStart): void {
  switch (r.kind) {
    case 'skip': return
    case 'missing': state.idempotency = 'missing'; return
    case 'new': state.idempotencyKey = r.key; state.idempotency = 'new'; return
    case 'replay': state.idempotencyKey = r.key; state.idempotency = 'replayed'; state.replayed = true; return
    case 'refused':
      state.idempotencyKey = r.key
      if (r.error === idempotencyInProgress) state.idempotency = 'in_progress'
      else if (r.error === idempotencyReused) state.idempotency = 'mismatch'
  }
}

/**
 * After the first request with a key answered: store its answer, or forget the key when the answer
 * must not be replayed (a 5xx, or a body that is not text). Call only while state.idempotency is 'new'.
 */
export function finishIdempotency (store: IdempotencyStore, state: RequestState, statusCode: number, payload: unknown, contentType: string | undefined): void {
  const auth = state.auth
  const key = state.idempotencyKey
  if (state.idempotency !== 'new' || auth === undefined || key === undefined) return
  state.idempotency = 'stored'
  if (statusCode >= 500 || typeof payload !== 'string') store.abandon(auth.tenantId, key)
  else store.complete(auth.tenantId, key, { statusCode, payload, contentType: contentType ?? 'application/json; charset=utf-8' })
}

// ---- bodies and the error envelope (contract 1.4, 1.5) --------------------------------------------

const bodyTooLarge = new ApiError('payload_too_large', MESSAGES.payload_too_large, [{ field: 'body', message: 'over the size limit' }])
const badMediaType = new ApiError('validation_error', 'Send bodies as application/json.', [{ field: 'Content-Type', message: 'must be application/json' }])
const emptyJson = new ApiError('validation_error', 'The body is empty; send a JSON object.', [{ field: 'body', message: 'must be a JSON object' }])
const badJson = new ApiError('validation_error', 'The body is not valid JSON.', [{ field: 'body', message: 'must be valid JSON' }])
/** The refusals of parseBody, for app.ts to answer Fastify's own parser errors with the very same objects. */
export const BODY_ERRORS = { tooLarge: bodyTooLarge, badMediaType, emptyJson, badJson } as const
const JSON_TYPE_RE = /^application\/json\s*(?:;|$)/i
const TEXT_TYPE_RE = /^text\/plain\s*(?:;|$)/i

/** JSON with a `__proto__` key, or a `constructor` holding `prototype`, is refused (Fastify's default poisoning rules). */
function poisoned (v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false
  if (Array.isArray(v)) return v.some(poisoned)
  const o = v as Record<string, unknown>
  if (Object.hasOwn(o, '__proto__')) return true
  const c = o.constructor
  if (Object.hasOwn(o, 'constructor') && c !== null && typeof c === 'object' && Object.hasOwn(c, 'prototype')) return true
  return Object.values(o).some(poisoned)
}

/**
 * The body as the Fastify app parses it: JSON for application/json, a string for text/plain, nothing
 * for an empty body without a type; anything else is refused like Fastify's parsers refuse it (the
 * Fastify app maps those errors in app.ts toApiError to the same ApiErrors).
 */
export function parseBody (contentType: string | null | undefined, raw: string, limitBytes: number): unknown {
  if (Buffer.byteLength(raw) > limitBytes) throw bodyTooLarge
  if (contentType === null || contentType === undefined || contentType === '') {
    if (raw.length === 0) return undefined
    throw badMediaType
  }
  if (JSON_TYPE_RE.test(contentType)) {
    if (raw.length === 0) throw emptyJson
    let v: unknown
    try {
      v = JSON.parse(raw)
    } catch {
      throw badJson
    }
    if (poisoned(v)) throw badJson
    return v
  }
  if (TEXT_TYPE_RE.test(contentType)) return raw
  throw badMediaType
}

export const notFoundError = new ApiError('not_found', MESSAGES.not_found, [])
const internal = new ApiError('internal_error', MESSAGES.internal_error)

/** Any thrown value as an ApiError: nothing internal (stack, path, raw message) reaches the client. */
export function asApiError (err: unknown): ApiError {
  return err instanceof ApiError ? err : internal
}

const MILLIS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0') + 'Z')
let isoSecond = Number.NaN
let isoPrefix = ''

/**
 * An epoch-ms time as Date#toISOString writes it (meta.timestamp, 1.4). The text up to the seconds
 * is made once per second, so a timestamp costs one concatenation: every answer carries one.
 */
export function isoTime (ms: number): string {
  const t = Math.trunc(ms)
  const second = Math.floor(t / 1000)
  if (second !== isoSecond) {
    const iso = new Date(t).toISOString()
    isoPrefix = iso.slice(0, -4)
    isoSecond = second
  }
  return isoPrefix + MILLIS[t - second * 1000]!
}

/** The error envelope of contract 1.5, fields in the order the Fastify response schema writes them. */
export function errorEnvelope (requestId: string, err: ApiError, nowMs: number) {
  return {
    error: { code: err.code, message: err.message, details: err.details.map((d) => ({ field: d.field, message: d.message })) },
    meta: { requestId, timestamp: isoTime(nowMs) }
  }
}

/** The success envelope of contract 1.4. */
export function dataEnvelope (requestId: string, data: unknown, nowMs: number) {
  return { data, meta: { requestId, timestamp: isoTime(nowMs) } }
}

// ---- the record entry (contract 7.3) --------------------------------------------------------------

const KEYISH = /tnz(?:_|%5f)/i

/** `tnz_` or its percent-encoded form: the start of a Tenzro key (contract 2.1). */
const KEY_START = /tnz(?:_|%5f)/i
/** A long run of base64/base64url characters: a secret (43 chars) or an encoded key is one. */
const LONG_RUN = /[A-Za-z0-9+/=_-]{24,}/g
const UPPER = /[A-Z]/
const LOWER = /[a-z]/

function secretRun (s: string): boolean {
  if (KEY_START.test(s)) return true
  LONG_RUN.lastIndex = 0
  for (let m = LONG_RUN.exec(s); m !== null; m = LONG_RUN.exec(s)) {
    // Random base64 mixes cases; UUIDs, hex ids and words do not trip this.
    if (UPPER.test(m[0]) && LOWER.test(m[0])) return true
  }
  return false
}

/** Whether `s` could carry a key, raw, percent-encoded or base64-encoded. */
export function looksSecret (s: string): boolean {
  if (secretRun(s)) return true
  if (s.includes('%')) {
    try {
      return secretRun(decodeURIComponent(s))
    } catch {
      return true
    }
  }
  return false
}

/** Subject patterns as the record keeps them (7.3): one that could carry a key is kept as REDACTED. */
export function recordedSubjects (patterns: readonly string[]): readonly string[] | null {
  if (patterns.length === 0) return null
  return patterns.some(looksSecret) ? patterns.map((p) => (looksSecret(p) ? 'REDACTED' : p)) : patterns
}
const KEYISH_SEGMENT = /tnz(?:_|%5f)[^/]*/gi

export interface RequestFacts {
  requestId: string
  /** The X-Request-Id the client sent, if any. */
  sentRequestId: unknown
  method: string
  /** The route pattern, or null for an unknown route. */
  route: string | null
  /** Path and query as sent. */
  url: string
  statusCode: number
  ip: string | undefined
  body: unknown
  /** Retry-After sent with the answer, if any. */
  retryAfter: unknown
  headers: HeaderBag
  /** Test switch: the leak the canary test must catch (config.unsafeDisableRedaction). */
  unsafe: boolean
}

/** One request's record entry, built from the request state only: key ids, never secrets. */
export function requestEntry (f: RequestFacts, s: RequestState): Record<string, unknown> {
  const url = f.url
  const q = url.indexOf('?')
  let path = q === -1 ? url : url.slice(0, q)
  // A key pasted where an id belongs (DELETE /api/keys/<key>) is a secret too: redact the segment, flag it.
  const keyInPath = KEYISH.test(path)
  if (keyInPath) path = path.replace(KEYISH_SEGMENT, '[REDACTED]')
  const rl = s.rateLimit
  const entry: Record<string, unknown> = {
    requestId: f.requestId,
    clientRequestId: f.sentRequestId === f.requestId,
    method: f.method,
    route: f.route,
    path,
    status: f.statusCode,
    durationMs: Math.round(Number(process.hrtime.bigint() - s.startNs) / 1e4) / 100,
    ip: f.ip ?? null,
    tenant: s.auth?.tenantId ?? s.authTenant ?? null,
    keyId: s.auth?.keyId ?? s.keyRef ?? null,
    auth: s.authOutcome ?? null,
    code: s.errorCode ?? s.authCode ?? null,
    rateLimit: rl === undefined ? null : { allowed: rl.allowed, limit: rl.limit, remaining: rl.remaining, resetAtMs: rl.resetAtMs, retryAfterS: rl.retryAfterS },
    idempotencyKey: s.idempotencyKey ?? null,
    idempotency: s.idempotency ?? null,
    faults: s.faults === undefined || s.faults.labels.length === 0 ? null : s.faults.labels,
    lostResponse: s.lost === true,
    retryAfterS: f.retryAfter === undefined || f.retryAfter === null ? null : Number(f.retryAfter),
    traceId: s.traceId ?? null
  }
  if (keyInPath || (q !== -1 && KEYISH.test(url.slice(q)))) entry.secretInUrl = true
  if (f.method === 'POST' && f.body !== undefined && f.body !== null && KEYISH.test(JSON.stringify(f.body))) entry.secretInBody = true
  if (f.unsafe) {
    entry.headers = f.headers
    entry.url = url
    entry.body = f.body
  }
  return entry
}

// ---- the event stream (contract 4) ----------------------------------------------------------------

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // Proxies (nginx) must pass frames through as they are written.
  'x-accel-buffering': 'no'
}

const ID_RE = /^\d{1,15}$/

export interface StreamSlotsLike {
  acquire (keyId: string): boolean
  release (keyId: string): void
}

export interface StreamRequest {
  filter: SubjectFilter
  patterns: string[]
  /** `last_event_id` / `Last-Event-ID` (4.2): the header wins; empty means absent. */
  resume: { id: number | undefined, via: 'header' | 'query' | undefined }
}

/** Contract 4.2: `subjects` and the resume id, with one detail per bad field. Throws validation_error. */
export function parseStreamRequest (headers: HeaderBag, query: Record<string, unknown>): StreamRequest {
  const d: ErrorDetail[] = []
  const raw = query.subjects
  const subjects = parseSubjects(Array.isArray(raw) ? raw.join(',') : raw as string | undefined)
  if ('errors' in subjects) for (const message of subjects.errors) d.push({ field: 'subjects', message })
  let resume: StreamRequest['resume'] = { id: undefined, via: undefined }
  const h = headers['last-event-id']
  if (typeof h === 'string' && h.length > 0) {
    if (!ID_RE.test(h.trim())) d.push({ field: 'Last-Event-ID', message: 'must be a non-negative integer event id' })
    else resume = { id: Number(h.trim()), via: 'header' }
  } else {
    const q = query.last_event_id
    if (q !== undefined && q !== '') {
      if (typeof q !== 'string' || !ID_RE.test(q)) d.push({ field: 'last_event_id', message: 'must be a non-negative integer event id' })
      else resume = { id: Number(q), via: 'query' }
    }
  }
  if (d.length > 0 || !('filter' in subjects)) throw new ApiError('validation_error', 'The stream request is invalid; see details.', d)
  return { filter: subjects.filter, patterns: subjects.patterns, resume }
}

export interface StreamPlan extends StreamRequest {
  streamId: string
  auth: AuthContext
  requestId: string
  faults: SseFaultDecision | undefined
  /** Where the subscription starts: the resume id, or k before it under a duplicate fault. */
  after: number | undefined
  /** Events up to this sequence are re-sent on purpose (fault sse-duplicate). */
  duplicateUpTo: number
  retryMs: number
}

export interface EventStreamsOptions {
  context: () => MockContext
  slots: StreamSlotsLike
  registry: StreamRegistry
}

/**
 * Opening an event stream (contract 4, 5.5, 7.2), in two steps around the framework's own part
 * (writing the status line and headers): `prepare` refuses or plans the stream and holds a slot;
 * `start` writes the opening `retry:` frame, records the stream and subscribes it to the log.
 */
export function createEventStreams (opts: EventStreamsOptions) {
  const { slots, registry } = opts
  const cfg = () => opts.context().config
  let tooManyStreams: ApiError | undefined
  const unhealthy = new ApiError('service_unavailable', 'The event backend is not reachable; retry after Retry-After seconds.', [{ field: 'retryAfter', message: '1' }], { 'retry-after': '1' })
  let counter = 0

  function keyState (keyId: string): 'live' | 'revoked' | 'expired' {
    const keys = opts.context().keys
    if (keys.isLive(keyId)) return 'live'
    return keys.key(keyId)?.revokedAtMs === undefined ? 'expired' : 'revoked'
  }
  // What every stream shares (sse/stream.ts SseContext); a stream's own close callback rides as its owner.
  const sse: SseContext = {
    maxBufferedBytes: cfg().events.maxBufferedBytes,
    keyState,
    record: (type: RecordEntryType, fields: Record<string, unknown>) => { opts.context().record.append(type, fields) },
    now: () => opts.context().now(),
    onClosed (s) {
      registry.remove(s)
      slots.release(s.keyId)
      ;(s.owner as (stream: SseStream) => void)(s)
    }
  }

  return {
    unhealthy,
    keyState,

    /** Parse, take a slot (429 too_many_streams), decide the SSE faults, refuse under sse-reject. Throws ApiError. */
    async prepare (auth: AuthContext, requestId: string, headers: HeaderBag, query: Record<string, unknown>): Promise<StreamPlan> {
      const mock = opts.context()
      const log = mock.events
      const req = parseStreamRequest(headers, query)
      if (!slots.acquire(auth.keyId)) {
        const max = cfg().rateLimit.maxStreamsPerKey
        tooManyStreams ??= new ApiError('too_many_streams', MESSAGES.too_many_streams, [{ field: 'X-API-Key', message: `at most ${max} concurrent streams per key` }])
        throw tooManyStreams
      }
      let streamId: string
      let faults: SseFaultDecision | undefined
      try {
        streamId = `str_${(++counter).toString().padStart(6, '0')}`
        const plan = mock.faults
        faults = plan.hasSse ? plan.sse({ tenantId: auth.tenantId, tenantSlug: auth.tenantSlug, keyId: auth.keyId, method: 'GET', route: '/api/events/stream' }) : undefined
        if (faults?.reject !== undefined) {
          // 7.2: refuse (re)connection attempts with 429 or 503, Retry-After and the envelope (1.5, 5.3).
          const { status, retryAfterS } = faults.reject
          mock.record.append('fault', { fault: 'sse-reject', status, retryAfterS, labels: faults.labels, streamId, tenant: auth.tenantId, keyId: auth.keyId, requestId, lastEventId: req.resume.id ?? null })
          const details = [{ field: 'retryAfter', message: String(retryAfterS) }]
          const h = { 'retry-after': String(retryAfterS) }
          throw status === 429
            ? new ApiError('rate_limited', MESSAGES.rate_limited, details, h)
            : new ApiError('service_unavailable', MESSAGES.service_unavailable, details, h)
        }
        if (!log.healthy()) throw unhealthy
      } catch (err) {
        slots.release(auth.keyId)
        throw err
      }
      // Duplicate fault (7.2): on resume, start k events before the requested id. Never across the
      // edge of the retained window, so it cannot turn into a false gap.
      let after = req.resume.id
      let duplicateUpTo = 0
      if (faults !== undefined && faults.duplicate > 0 && req.resume.id !== undefined) {
        const w = await log.window(auth.tenantId)
        const upTo = Math.min(req.resume.id, w.lastSeq)
        if (req.resume.id + 1 >= w.firstSeq && upTo >= w.firstSeq) {
          after = Math.max(upTo - faults.duplicate, w.firstSeq - 1)
          duplicateUpTo = upTo
        }
      }
      return { ...req, streamId, auth, requestId, faults, after, duplicateUpTo, retryMs: faults?.retryMs ?? cfg().events.retryMs }
    },

    /** Give back the slot of a plan that will not be started. */
    abandon (plan: StreamPlan): void {
      slots.release(plan.auth.keyId)
    },

    /**
     * Start a prepared stream on `res`, whose status line and headers (SSE_HEADERS and the request's
     * own) the caller has written. `onClosed` runs once when the response has closed, after the slot is
     * given back (the caller records the request there): the Fastify route's SseContext.onClosed.
     */
    async start (plan: StreamPlan, res: ServerResponse, onClosed: (stream: SseStream) => void): Promise<SseStream> {
      const mock = opts.context()
      const { auth, streamId, requestId, faults, after, duplicateUpTo } = plan
      const record = sse.record
      res.write(retryFrame(plan.retryMs))
      const stream = new SseStream(sse, {
        streamId,
        res,
        tenantId: auth.tenantId,
        keyId: auth.keyId,
        requestId,
        filter: plan.filter,
        faults,
        duplicateUpTo,
        resumedFrom: plan.resume.id,
        owner: onClosed
      })
      registry.add(stream)
      record('stream', {
        phase: 'open',
        streamId,
        tenant: auth.tenantId,
        keyId: auth.keyId,
        requestId,
        subjects: recordedSubjects(plan.patterns),
        lastEventId: plan.resume.id ?? null,
        retryMs: plan.retryMs,
        faults: faults === undefined || faults.labels.length === 0 ? null : faults.labels
      })
      if (faults?.retryMs !== undefined) stream.fault('sse-retry', { retryMs: faults.retryMs, labels: faults.labels })
      if (plan.resume.id !== undefined) {
        record('resume', { streamId, tenant: auth.tenantId, keyId: auth.keyId, requestId, lastEventId: plan.resume.id, via: plan.resume.via, from: (after ?? plan.resume.id) + 1 })
      }
      if (duplicateUpTo > 0) stream.fault('sse-duplicate', { count: faults!.duplicate, from: after! + 1, to: duplicateUpTo, labels: faults!.labels })
      try {
        stream.attach(await mock.events.subscribe(auth.tenantId, { after }, stream))
      } catch (err) {
        stream.error(err instanceof Error ? err : new Error(String(err)))
      }
      return stream
    }
  }
}

export type EventStreams = ReturnType<typeof createEventStreams>

// ---- route bodies: wallets (contract 3) and key administration (2.6) --------------------------------

const badCursor = new ApiError('validation_error', 'The cursor was not issued by this API to this tenant; start again without a cursor.', [{ field: 'cursor', message: 'not a valid cursor for this tenant' }])

// A cursor names a tenant and a position, and its MAC is keyed per store: the same pair always gives
// the same text, so the few a load test walks through are made once (a MAC is a hash per request).
const cursors = new WeakMap<WalletStore, Map<string, Map<number, string>>>()
const MAX_CACHED_CURSORS = 4096

function nextCursor (wallets: WalletStore, tenantId: string, before: number): string {
  let byTenant = cursors.get(wallets)
  if (byTenant === undefined) {
    byTenant = new Map()
    cursors.set(wallets, byTenant)
  }
  let m = byTenant.get(tenantId)
  if (m === undefined) {
    if (byTenant.size >= MAX_CACHED_CURSORS) byTenant.clear()
    m = new Map()
    byTenant.set(tenantId, m)
  }
  let c = m.get(before)
  if (c === undefined) {
    c = wallets.encodeCursor(tenantId, before)
    if (m.size >= MAX_CACHED_CURSORS) m.clear()
    m.set(before, c)
  }
  return c
}

/**
 * GET /api/wallet/list (3.2) as the JSON text of the whole answer. The page is spliced from per-wallet
 * JSON cached at creation (fields fixed by the store, contract 3.1): the list is the hot path of every load test.
 */
export function walletListPayload (mock: MockContext, auth: AuthContext, query: unknown, requestId: string): string {
  const { limit, cursor, chain } = walletListQuery(query)
  let before: number | undefined
  if (cursor !== undefined) {
    before = mock.wallets.decodeCursor(auth.tenantId, cursor)
    if (before === undefined) throw badCursor
  }
  const page = mock.wallets.list(auth.tenantId, { limit, before, chain })
  const next = page.nextBefore === undefined ? null : nextCursor(mock.wallets, auth.tenantId, page.nextBefore)
  return '{"data":' + page.json + ',"meta":{"requestId":' + JSON.stringify(requestId) + ',"timestamp":"' + isoTime(mock.now()) +
    '","cursor":' + (next === null ? 'null' : '"' + next + '"') + ',"hasMore":' + (next !== null) + '}}'
}

/**
 * POST /api/wallet/create (3.3): validate, create, then publish wallet.created. Published after the
 * wallet exists; a slow or failing event log never loses the wallet (`onPublishError` hears about it).
 */
export async function createWallet (
  mock: MockContext,
  auth: AuthContext,
  body: unknown,
  onPublishError?: (err: Error) => void,
  /** How to publish (the Fastify route passes one that makes a producer span); default the event log's. */
  publish?: (tenantId: string, subject: string, data: unknown) => Promise<unknown>
): Promise<Wallet> {
  const input = walletCreateBody(body)
  const wallet = mock.wallets.create(auth.tenantId, input)
  if (mock.events !== undefined) {
    try {
      await (publish === undefined ? mock.events.publish(auth.tenantId, 'wallet.created', wallet) : publish(auth.tenantId, 'wallet.created', wallet))
    } catch (err) {
      onPublishError?.(err as Error)
    }
  }
  return wallet
}

const adminTenantMismatch = new ApiError('tenant_mismatch', MESSAGES.tenant_mismatch, [{ field: 'tenantId', message: 'not the admin key\'s tenant' }])
const adminKeyNotFound = new ApiError('not_found', 'No such key for this tenant.', [{ field: 'id', message: 'unknown key id' }])

/**
 * Key administration (2.6): an admin key manages its own tenant only (3.4): another tenant's id is
 * 403 tenant_mismatch, another tenant's key id is 404 as if it did not exist. Returns `data` objects.
 */
export function keyAdmin (mock: MockContext) {
  function ownTenant (auth: AuthContext, idOrSlug: unknown): Tenant {
    if (typeof idOrSlug !== 'string' || (idOrSlug !== auth.tenantId && idOrSlug !== auth.tenantSlug)) throw adminTenantMismatch
    return mock.keys.tenant(auth.tenantId)!
  }
  return {
    ownTenant,
    /** POST /api/keys: the new key's description with the full `key`, shown this once. */
    create (auth: AuthContext, body: unknown) {
      const o = objectBody(body)
      const d: ErrorDetail[] = []
      checkFields(o, ['tenantId', 'name', 'scopes', 'rateLimit', 'expiresAt'], d)
      if (typeof o.tenantId !== 'string') d.push({ field: 'tenantId', message: 'required: the tenant id or slug' })
      const input = keyFields(o, d, mock.now(), { scopes: DEFAULT_SCOPES })
      throwIfDetails(d, 'The key')
      const tenant = ownTenant(auth, o.tenantId)
      const { record, key } = mock.keys.createKey(tenant, input)
      return { ...describeKey(record), key }
    },
    /** DELETE /api/keys/:id */
    revoke (auth: AuthContext, id: string) {
      const k = mock.keys.key(id)
      if (k === undefined || k.tenantId !== auth.tenantId) throw adminKeyNotFound
      mock.keys.revoke(k.id)
      return describeKey(k)
    },
    /** GET /api/keys/tenant/:tenantId */
    list (auth: AuthContext, tenantId: string) {
      return mock.keys.keysOf(ownTenant(auth, tenantId).id).map(describeKey)
    },
    /** GET /api/keys/validate: documented without the data wrapper (2.6). */
    validate (auth: AuthContext, rl: LimitDecision | undefined) {
      const cfg = mock.config.rateLimit
      const limit = rl?.limit ?? auth.rateLimit ?? cfg.limit
      return {
        valid: true,
        tenantId: auth.tenantId,
        scopes: auth.scopes,
        rateLimit: { limit, remaining: rl?.remaining ?? limit, resetsAt: new Date(rl?.resetAtMs ?? mock.now() + cfg.windowMs).toISOString() }
      }
    }
  }
}
