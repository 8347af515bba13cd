// The mock's configuration: one typed object, validated once (house style principle 2). Only the entry
// point (server.ts) reads the environment, flags and files; buildApp() receives the parsed result.
import type { ErrorDetail } from './errors.ts'
import type { Algorithm } from './domain/limiter/types.ts'
import { isValidScope } from './domain/key-store.ts'

export interface RoutePolicyConfig {
  limit?: number
  windowMs?: number
  algorithm?: Algorithm
}

export interface TenantConfig {
  slug: string
  /** Optional fixed UUID; derived from the seed and slug when absent. */
  id?: string
  /** Tenant quota shared by all its keys (contract 5.1): requests per window. */
  quota?: number
  /** Full keys to pre-register (fixtures). Use obviously fake secrets. */
  keys?: Array<{ key: string, name?: string, scopes?: string[], rateLimit?: number, expiresAt?: string }>
}

export interface MockConfig {
  host: string
  port: number
  seed: number
  /** Control API token (contract 7.1, 7.4); undefined means no token needed. */
  controlToken: string | undefined
  /** Allow /__harness from non-loopback addresses. */
  controlAllowRemote: boolean
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Test switch: turns the redaction layers off so the leak test can prove it catches a leak. Never in production. */
  unsafeDisableRedaction: boolean
  bodyLimitBytes: number
  /** Deepest nesting of a JSON body, checked before it is parsed (the Fastify and msw paths alike). */
  bodyMaxDepth: number
  /** Limits of the HTTP layer: each answered in the envelope (README, "HTTP limits"). */
  http: {
    /** Request headers larger than this are answered 431. */
    maxHeaderBytes: number
    /** Headers not complete within this many ms: 408. */
    headersTimeoutMs: number
    /** Whole request (headers and body) not received within this many ms: 408. */
    requestTimeoutMs: number
    /** An idle keep-alive connection is closed after this many ms. */
    keepAliveTimeoutMs: number
  }
  /** Overload shedding (contract 1.6 service_unavailable): beyond any limit, 503 with Retry-After. 0 turns a limit off. */
  overload: {
    enabled: boolean
    /** Mean event-loop delay over one sample. */
    maxEventLoopDelayMs: number
    /** V8 heap in use; 0 means 90 % of the heap size limit. */
    maxHeapUsedBytes: number
    maxRssBytes: number
    /** Event-loop utilisation 0..1 over one sample (0 = off). */
    maxEventLoopUtilization: number
    sampleIntervalMs: number
    retryAfterS: number
  }
  tenants: TenantConfig[]
  walletsPerTenant: number
  record: { capacity: number, file: string | undefined }
  /**
   * Where tenants, keys, wallets, idempotency records, fault plans and the merged record live: 'memory'
   * (this process only) or a redis:// URL shared by instances that serve as one (README "Scale-out").
   */
  state: { store: string }
  idempotency: { ttlMs: number, capacity: number }
  rateLimit: {
    enabled: boolean
    algorithm: Algorithm
    limit: number
    windowMs: number
    /** 'memory' or a redis:// URL. */
    store: string
    ietfHeaders: boolean
    routes: Record<string, RoutePolicyConfig>
    maxStreamsPerKey: number
  }
  events: {
    /** 'memory' or a nats:// URL. */
    backend: string
    capacity: number
    retryMs: number
    heartbeatMs: number
    /** Events per second per tenant from the background generator; 0 turns it off. */
    generatorRate: number
    /** A stream whose socket holds more than this many unsent bytes is closed (slow consumer). */
    maxBufferedBytes: number
  }
  /** Prometheus metrics at GET /metrics (plugins/metrics.ts). */
  metrics: {
    enabled: boolean
    /** Tenants that get a label of their own; requests of later tenants are counted as `other`. */
    maxTenants: number
  }
}

export const DEFAULT_CONFIG: MockConfig = {
  host: '127.0.0.1',
  port: 4010,
  seed: 1,
  controlToken: undefined,
  controlAllowRemote: false,
  logLevel: 'info',
  unsafeDisableRedaction: false,
  bodyLimitBytes: 64 * 1024,
  bodyMaxDepth: 64,
  http: { maxHeaderBytes: 16 * 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 72_000 },
  overload: { enabled: true, maxEventLoopDelayMs: 1000, maxHeapUsedBytes: 0, maxRssBytes: 0, maxEventLoopUtilization: 0, sampleIntervalMs: 1000, retryAfterS: 2 },
  tenants: [{ slug: 'acme' }, { slug: 'globex' }],
  walletsPerTenant: 25,
  record: { capacity: 100_000, file: undefined },
  state: { store: 'memory' },
  idempotency: { ttlMs: 24 * 3600 * 1000, capacity: 100_000 },
  rateLimit: {
    enabled: true,
    algorithm: 'fixed-window',
    limit: 100,
    windowMs: 60_000,
    store: 'memory',
    ietfHeaders: false,
    routes: {},
    maxStreamsPerKey: 5
  },
  events: {
    backend: 'memory',
    capacity: 10_000,
    retryMs: 1000,
    heartbeatMs: 15_000,
    generatorRate: 0,
    maxBufferedBytes: 1 << 20
  },
  metrics: { enabled: true, maxTenants: 50 }
}

export class ConfigError extends Error {
  readonly code = 'invalid_config'
  readonly details: ErrorDetail[]
  constructor (details: ErrorDetail[]) {
    super('Invalid configuration: ' + details.map((d) => `${d.field}: ${d.message}`).join('; '))
    this.name = 'ConfigError'
    this.details = details
  }
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends Array<infer _U> ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] }
export type MockConfigInput = DeepPartial<MockConfig>

const SLUG_RE = /^[a-z0-9]{1,32}$/
const ALGORITHMS = ['fixed-window', 'sliding-window', 'token-bucket']

/** Merge onto the defaults and validate every field; throws ConfigError naming each bad field. */
export function resolveConfig (input: MockConfigInput = {}): MockConfig {
  const d: ErrorDetail[] = []
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ConfigError([{ field: 'config', message: 'must be an object' }])
  checkKeys(input, DEFAULT_CONFIG, '', d)
  const c: MockConfig = {
    ...DEFAULT_CONFIG,
    ...input,
    record: { ...DEFAULT_CONFIG.record, ...input.record },
    state: { ...DEFAULT_CONFIG.state, ...input.state },
    idempotency: { ...DEFAULT_CONFIG.idempotency, ...input.idempotency },
    rateLimit: { ...DEFAULT_CONFIG.rateLimit, ...input.rateLimit, routes: { ...input.rateLimit?.routes } },
    events: { ...DEFAULT_CONFIG.events, ...input.events },
    http: { ...DEFAULT_CONFIG.http, ...input.http },
    overload: { ...DEFAULT_CONFIG.overload, ...input.overload },
    metrics: { ...DEFAULT_CONFIG.metrics, ...input.metrics },
    tenants: (input.tenants ?? DEFAULT_CONFIG.tenants) as TenantConfig[]
  } as MockConfig
  const int = (field: string, v: unknown, min: number, max: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) d.push({ field, message: `must be an integer ${min}..${max}` })
  }
  if (typeof c.host !== 'string' || c.host.length === 0) d.push({ field: 'host', message: 'must be a host name or address' })
  int('port', c.port, 0, 65535)
  int('seed', c.seed, 0, 2 ** 32 - 1)
  if (c.controlToken !== undefined && (typeof c.controlToken !== 'string' || c.controlToken.length < 8)) d.push({ field: 'controlToken', message: 'must be a string of at least 8 chars' })
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(c.logLevel)) d.push({ field: 'logLevel', message: 'must be fatal, error, warn, info, debug, trace or silent' })
  const bool = (field: string, v: unknown) => { if (typeof v !== 'boolean') d.push({ field, message: 'must be true or false' }) }
  bool('controlAllowRemote', c.controlAllowRemote)
  bool('unsafeDisableRedaction', c.unsafeDisableRedaction)
  bool('rateLimit.enabled', c.rateLimit.enabled)
  bool('rateLimit.ietfHeaders', c.rateLimit.ietfHeaders)
  bool('metrics.enabled', c.metrics.enabled)
  int('metrics.maxTenants', c.metrics.maxTenants, 1, 10_000)
  if (c.record.file !== undefined && (typeof c.record.file !== 'string' || c.record.file.length === 0)) d.push({ field: 'record.file', message: 'must be a file path' })
  int('bodyLimitBytes', c.bodyLimitBytes, 1024, 16 * 1024 * 1024)
  int('bodyMaxDepth', c.bodyMaxDepth, 2, 1000)
  int('http.maxHeaderBytes', c.http.maxHeaderBytes, 1024, 1 << 20)
  int('http.headersTimeoutMs', c.http.headersTimeoutMs, 100, 3_600_000)
  int('http.requestTimeoutMs', c.http.requestTimeoutMs, 100, 3_600_000)
  int('http.keepAliveTimeoutMs', c.http.keepAliveTimeoutMs, 100, 3_600_000)
  // Node refuses a server whose header timeout is longer than its request timeout.
  if (typeof c.http.headersTimeoutMs === 'number' && typeof c.http.requestTimeoutMs === 'number' && c.http.headersTimeoutMs > c.http.requestTimeoutMs) d.push({ field: 'http.headersTimeoutMs', message: 'must not be longer than http.requestTimeoutMs' })
  bool('overload.enabled', c.overload.enabled)
  int('overload.maxEventLoopDelayMs', c.overload.maxEventLoopDelayMs, 0, 3_600_000)
  int('overload.maxHeapUsedBytes', c.overload.maxHeapUsedBytes, 0, 2 ** 50)
  int('overload.maxRssBytes', c.overload.maxRssBytes, 0, 2 ** 50)
  if (typeof c.overload.maxEventLoopUtilization !== 'number' || !(c.overload.maxEventLoopUtilization >= 0 && c.overload.maxEventLoopUtilization <= 1)) d.push({ field: 'overload.maxEventLoopUtilization', message: 'must be a number 0..1 (0 = off)' })
  int('overload.sampleIntervalMs', c.overload.sampleIntervalMs, 10, 60_000)
  int('overload.retryAfterS', c.overload.retryAfterS, 1, 3600)
  int('walletsPerTenant', c.walletsPerTenant, 0, 100_000)
  int('record.capacity', c.record.capacity, 100, 10_000_000)
  int('idempotency.ttlMs', c.idempotency.ttlMs, 1000, 7 * 24 * 3600 * 1000)
  int('idempotency.capacity', c.idempotency.capacity, 10, 10_000_000)
  if (!ALGORITHMS.includes(c.rateLimit.algorithm)) d.push({ field: 'rateLimit.algorithm', message: `must be one of ${ALGORITHMS.join(', ')}` })
  int('rateLimit.limit', c.rateLimit.limit, 1, 1e9)
  int('rateLimit.windowMs', c.rateLimit.windowMs, 1000, 24 * 3600 * 1000)
  int('rateLimit.maxStreamsPerKey', c.rateLimit.maxStreamsPerKey, 1, 100_000)
  if (typeof c.rateLimit.store !== 'string' || !(c.rateLimit.store === 'memory' || /^rediss?:\/\/\S+$/.test(c.rateLimit.store))) d.push({ field: 'rateLimit.store', message: 'must be "memory" or a redis:// URL' })
  const routes = input.rateLimit?.routes
  if (routes !== undefined && (typeof routes !== 'object' || routes === null || Array.isArray(routes))) d.push({ field: 'rateLimit.routes', message: 'must be an object of "METHOD /path": {limit?, windowMs?, algorithm?}' })
  for (const [route, p] of Object.entries(c.rateLimit.routes)) {
    if (!/^(GET|POST|PUT|DELETE|PATCH) \/\S*$/.test(route)) d.push({ field: `rateLimit.routes.${route}`, message: 'route keys look like "GET /api/wallet/list"' })
    if (typeof p !== 'object' || p === null || Array.isArray(p)) { d.push({ field: `rateLimit.routes.${route}`, message: 'must be an object {limit?, windowMs?, algorithm?}' }); continue }
    unknownKeys(p, ['limit', 'windowMs', 'algorithm'], `rateLimit.routes.${route}.`, d)
    if (p.limit !== undefined) int(`rateLimit.routes.${route}.limit`, p.limit, 1, 1e9)
    if (p.windowMs !== undefined) int(`rateLimit.routes.${route}.windowMs`, p.windowMs, 1000, 24 * 3600 * 1000)
    if (p.algorithm !== undefined && !ALGORITHMS.includes(p.algorithm)) d.push({ field: `rateLimit.routes.${route}.algorithm`, message: `must be one of ${ALGORITHMS.join(', ')}` })
  }
  if (typeof c.state.store !== 'string' || !(c.state.store === 'memory' || /^rediss?:\/\/\S+$/.test(c.state.store))) d.push({ field: 'state.store', message: 'must be "memory" or a redis:// URL' })
  if (typeof c.events.backend !== 'string' || !(c.events.backend === 'memory' || /^nats:\/\/\S+$/.test(c.events.backend))) d.push({ field: 'events.backend', message: 'must be "memory" or a nats:// URL' })
  int('events.capacity', c.events.capacity, 10, 10_000_000)
  int('events.retryMs', c.events.retryMs, 0, 3_600_000)
  int('events.heartbeatMs', c.events.heartbeatMs, 10, 3_600_000)
  if (typeof c.events.generatorRate !== 'number' || !(c.events.generatorRate >= 0 && c.events.generatorRate <= 10_000)) d.push({ field: 'events.generatorRate', message: 'must be a number 0..10000 (events per second per tenant)' })
  int('events.maxBufferedBytes', c.events.maxBufferedBytes, 1024, 1 << 30)
  if (!Array.isArray(c.tenants)) {
    d.push({ field: 'tenants', message: 'must be an array' })
  } else {
    const seen = new Set<string>()
    c.tenants.forEach((t, i) => {
      if (typeof t !== 'object' || t === null || typeof t.slug !== 'string' || !SLUG_RE.test(t.slug)) { d.push({ field: `tenants[${i}].slug`, message: 'must be 1-32 chars of [a-z0-9] (contract 2.1)' }); return }
      if (seen.has(t.slug)) d.push({ field: `tenants[${i}].slug`, message: 'duplicate slug' })
      seen.add(t.slug)
      if (t.quota !== undefined) int(`tenants[${i}].quota`, t.quota, 1, 1e9)
      unknownKeys(t, ['slug', 'id', 'quota', 'keys'], `tenants[${i}].`, d)
      if (t.id !== undefined && (typeof t.id !== 'string' || !UUID_RE.test(t.id))) d.push({ field: `tenants[${i}].id`, message: 'must be a UUID' })
      if (t.keys !== undefined && !Array.isArray(t.keys)) d.push({ field: `tenants[${i}].keys`, message: 'must be an array' })
      // Fixture keys are checked here, so a bad one is a ConfigError (exit 2), not a throw from buildApp.
      if (Array.isArray(t.keys)) t.keys.forEach((k, j) => { checkFixtureKey(k, t.slug, `tenants[${i}].keys[${j}]`, d) })
    })
  }
  if (d.length > 0) throw new ConfigError(d)
  return c
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function unknownKeys (o: object, allowed: readonly string[], prefix: string, d: ErrorDetail[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) d.push({ field: prefix + k, message: 'unknown option' })
}

function checkFixtureKey (k: unknown, slug: string, at: string, d: ErrorDetail[]): void {
  if (typeof k !== 'object' || k === null || Array.isArray(k)) { d.push({ field: at, message: 'must be an object {key, name?, scopes?, rateLimit?, expiresAt?}' }); return }
  const o = k as Record<string, unknown>
  unknownKeys(o, ['key', 'name', 'scopes', 'rateLimit', 'expiresAt'], at + '.', d)
  // Contract 2.1; the fixture must belong to the tenant it is listed under.
  if (typeof o.key !== 'string' || !new RegExp(`^tnz_${slug}_[A-Za-z0-9_-]{43}$`).test(o.key)) d.push({ field: `${at}.key`, message: `must be tnz_${slug}_<43 base64url chars>` })
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length < 1 || o.name.length > 64)) d.push({ field: `${at}.name`, message: 'must be 1-64 chars' })
  if (o.scopes !== undefined && (!Array.isArray(o.scopes) || o.scopes.length === 0 || !o.scopes.every(isValidScope))) d.push({ field: `${at}.scopes`, message: 'must be a non-empty array of wallet:read, wallet:write, events:read, <service>:* or admin:*' })
  if (o.rateLimit !== undefined && (typeof o.rateLimit !== 'number' || !Number.isInteger(o.rateLimit) || o.rateLimit < 1 || o.rateLimit > 1e9)) d.push({ field: `${at}.rateLimit`, message: 'must be an integer >= 1' })
  if (o.expiresAt !== undefined && (typeof o.expiresAt !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(o.expiresAt) || !Number.isFinite(Date.parse(o.expiresAt)))) d.push({ field: `${at}.expiresAt`, message: 'must be an ISO-8601 date-time' })
}

function checkKeys (input: object, defaults: object, prefix: string, d: ErrorDetail[]): void {
  for (const [k, v] of Object.entries(input)) {
    if (!(k in defaults)) { d.push({ field: prefix + k, message: 'unknown option' }); continue }
    const def = (defaults as Record<string, unknown>)[k]
    if (k !== 'routes' && def !== null && typeof def === 'object' && !Array.isArray(def) && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      checkKeys(v, def, `${prefix}${k}.`, d)
    }
  }
}
