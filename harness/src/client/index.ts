// The reference Tenzro client: what a well-behaved integration does, so the harness
// can show the difference. createTenzroClient({baseUrl, apiKey, tenantId, ...}) validates its options
// once and returns wallets and events APIs; time, randomness, I/O, tracing and logging are injected
// (house style principle 3).
import { randomBytes } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { trace, type Tracer } from '@opentelemetry/api'
import { TenzroApiError, createRedactor } from './errors.ts'
import { createEvents } from './event-stream.ts'
import type { ClientContext, ClientLogger, FetchLike, Sleep } from './http.ts'
import { TRACER_NAME, TRACER_VERSION } from './names.ts'
import { resolveRetry, type RetryOptions } from './retry.ts'
import { createThrottle, type LimitOptions } from './throttle.ts'
import { createWallets } from './wallets.ts'

export interface TenzroClientOptions {
  /** e.g. https://api.platform.tenzro.com (contract 1.1); no credentials, query or fragment. */
  baseUrl: string
  /** `tnz_<tenant>_<secret>` (contract 2.1). Sent only in X-API-Key. */
  apiKey: string
  /** Tenant id or slug (contract 2.2). Sent only in X-Tenant-Id. */
  tenantId: string
  /** X-Network on every request (contract 1.2): the network the key is for; absent means devnet. */
  network?: 'devnet' | 'testnet' | 'mainnet' | undefined
  fetch?: FetchLike
  /** Epoch ms; X-RateLimit-Reset is compared with it. */
  now?: () => number
  sleep?: Sleep
  /** Uniform in [0, 1); seed it for reproducible backoff. */
  random?: () => number
  /** Default: the global tracer provider's 'tenzro-client' tracer (a no-op until an SDK registers). */
  tracer?: Tracer
  logger?: ClientLogger
  /** The key's rate limit, if known: the client then never sends faster. false: follow the server's headers only. */
  limit?: LimitOptions | false
  retry?: Partial<RetryOptions>
}

const noLogger: ClientLogger = {}

function defaultSleep (ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal === undefined ? undefined : { signal })
}

/** The `<secret>` of `tnz_<tenant>_<secret>` (contract 2.1); the tenant has no '_', the secret may. */
function secretOf (key: string): string {
  const m = /^tnz_[a-z0-9]{1,32}_(.+)$/.exec(key)
  return m === null ? key : m[1]!
}

function invalid (message: string): TenzroApiError {
  return new TenzroApiError({ code: 'invalid_options', message })
}

export function createTenzroClient (options: TenzroClientOptions) {
  const o = options
  if (typeof o !== 'object' || o === null) throw invalid('createTenzroClient needs an options object {baseUrl, apiKey, tenantId}')
  let base: URL
  try {
    base = new URL(o.baseUrl)
  } catch {
    throw invalid('baseUrl must be an absolute http(s) URL, e.g. https://api.platform.tenzro.com')
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw invalid('baseUrl must use http or https')
  // A key in the URL ends up in proxy logs, browser history and spans (url.full): never put one there.
  if (base.username !== '' || base.password !== '' || base.search !== '' || base.hash !== '') throw invalid('baseUrl must not carry credentials, a query or a fragment; the key goes in apiKey')
  if (typeof o.apiKey !== 'string' || o.apiKey.length === 0) throw invalid('apiKey is required (tnz_<tenant>_<secret>, contract 2.1)')
  if (typeof o.tenantId !== 'string' || o.tenantId.length === 0) throw invalid('tenantId is required (the tenant id or slug, contract 2.2)')
  if (o.network !== undefined && !['devnet', 'testnet', 'mainnet'].includes(o.network)) throw invalid('network must be devnet, testnet or mainnet (X-Network, contract 1.2)')
  if (/[\r\n]/.test(o.apiKey) || /[\r\n]/.test(o.tenantId)) throw invalid('apiKey and tenantId must be single-line header values')
  const now = o.now ?? Date.now
  let throttle
  let retry
  try {
    throttle = createThrottle({ limit: o.limit, now })
    retry = resolveRetry(o.retry)
  } catch (err) {
    throw invalid((err as Error).message)
  }

  const baseUrl = base.href.replace(/\/+$/, '')
  const defaultPort = base.protocol === 'https:' ? 443 : 80
  const prefix = 'tnzc-' + randomBytes(6).toString('hex') + '-'
  let n = 0
  const fetchFn = o.fetch ?? (globalThis.fetch as FetchLike)

  const ctx: ClientContext = {
    baseUrl,
    serverAddress: base.hostname,
    serverPort: base.port === '' ? defaultPort : Number(base.port),
    authHeaders: Object.freeze({ 'x-api-key': o.apiKey, 'x-tenant-id': o.tenantId, ...(o.network === undefined ? {} : { 'x-network': o.network }) }),
    fetch: fetchFn,
    now,
    sleep: o.sleep ?? defaultSleep,
    random: o.random ?? Math.random,
    tracer: o.tracer ?? trace.getTracer(TRACER_NAME, TRACER_VERSION),
    logger: o.logger ?? noLogger,
    throttle,
    retry,
    redact: createRedactor([o.apiKey, secretOf(o.apiKey)]),
    // Contract 1.2: 1-128 chars of [A-Za-z0-9._:-]; unique per process run, short, no randomness per call.
    nextRequestId: () => prefix + (++n).toString(36)
  }

  return {
    wallets: createWallets(ctx),
    events: createEvents(ctx),
    /** Throttle state, for diagnostics and tests. */
    throttleState: () => throttle.state(),
    // The key stays out of inspection: console.log(client) or a logged client shows no secret.
    toJSON: () => ({ baseUrl, tenantId: o.tenantId }),
    [Symbol.for('nodejs.util.inspect.custom')]: () => `TenzroClient { baseUrl: '${baseUrl}' }`
  }
}

export type TenzroClient = ReturnType<typeof createTenzroClient>

export { TenzroApiError, isTenzroApiError, CLIENT_ERROR_CODES } from './errors.ts'
export type { ClientErrorCode, ErrorDetail } from './errors.ts'
export type { ClientLogger, FetchLike, Sleep } from './http.ts'
export type { LimitOptions } from './throttle.ts'
export type { RetryOptions } from './retry.ts'
export { DEFAULT_RETRY, parseRetryAfter, backoffMs } from './retry.ts'
export { createThrottle } from './throttle.ts'
export { createSseParser } from './sse-parser.ts'
export type { SseMessage, SseParser } from './sse-parser.ts'
export type { Wallet, WalletPage, CreatedWallet, CreateWalletInput, ListOptions, CreateOptions, Chain, WalletType } from './wallets.ts'
export type { TenzroEvent, StreamGap, ConsumeOptions, ConsumeResult } from './event-stream.ts'
export { DEFAULT_HEARTBEAT_TIMEOUT_MS } from './event-stream.ts'
