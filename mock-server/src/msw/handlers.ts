// The Tenzro mock as msw request handlers, for tests that run the client in-process (house style,
// "Layout"). Every request goes through the same framework-free pipeline as the Fastify app
// (pipeline/index.ts lists its steps), in the same order as its hooks: common headers (contract 1.2),
// authentication (2), REST fault decision (7.2), rate limit (5), body, idempotency (6), latency and
// error faults, the route, then lost-response and slow-body faults on the way out, and one record
// entry (7.3).
//
// The event stream is an ordinary `http.get` handler whose Response body is a ReadableStream fed by
// the stream builder the Fastify route runs (pipeline/event-stream.ts) and its SseStream, not msw's
// `sse()`: `sse()` needs a global EventSource (Node 24 has none without --experimental-eventsource),
// always answers 200 with its own headers (no 401, no 429, no X-RateLimit-*), writes `id:1` where the
// Fastify mock writes `id: 1`, and cannot send the `: heartbeat` comment or a half-written frame
// (fault sse-drop `where`). A streamed Response can.
import type { ServerResponse } from 'node:http'
import { http, HttpResponse, type HttpHandler } from 'msw'
import { resolveConfig, type MockConfig, type MockConfigInput } from '../config.ts'
import { createMockContext, type MockContext } from '../context.ts'
import { ApiError } from '../errors.ts'
import type { AuthContext, RequestState, RouteAccess } from '../types.ts'
import { createMemoryEventLog } from '../domain/event-log/memory.ts'
import type { EventLog } from '../domain/event-log/types.ts'
import { createEventGenerator } from '../domain/event-generator.ts'
import { createLimiterStore, createStreamSlots, type LimiterStore } from '../domain/limiter/index.ts'
import {
  applyAuth, applyIdempotency, asApiError, authenticate, beginIdempotency, checkCommonHeaders, createEventStreams,
  createRateLimit, createRequestIdGenerator, createWallet, dataEnvelope, errorEnvelope, faultError, finishIdempotency,
  createMethodTable, keyAdmin, newRequestState, notFoundError, parseBody, parseStreamRequest, requestEntry, requestIdFor, restFaultsFor, SSE_HEADERS, walletListPayload,
  type HeaderBag, type RouteLimiter
} from '../pipeline/index.ts'
import { createStreamRegistry } from '../sse/registry.ts'
import { createControlHelpers } from './control.ts'
import { StreamBody } from './stream-body.ts'

export type { CreatedKey } from './control.ts'

/** The real API's base URL (contract 1.1): code under test that talks to it is served by default. */
export const DEFAULT_BASE_URL = 'https://api.platform.tenzro.com'

const JSON_TYPE = 'application/json; charset=utf-8'

export interface TenzroHandlersOptions {
  /** Where the handlers answer; default the real API's base URL. */
  baseUrl?: string
  /** Mock configuration, as for the Fastify mock (validated the same way). Ignored when `context` is given. */
  config?: MockConfigInput
  /** A mock context to serve from (its config wins); one is created from `config` when absent. */
  context?: MockContext
  /** Epoch-ms clock for a context created here (house style principle 3). */
  now?: () => number
  /** Limiter store; by default the one config.rateLimit.store names (memory unless configured). */
  limiterStore?: LimiterStore
  /** Event log for a context created here; by default an in-memory one. */
  eventLog?: EventLog
  /** How latency and slow-body faults wait; a fake one makes them instant in tests. */
  sleep?: (ms: number) => Promise<void>
  /** Hears about unexpected errors (answered 500 internal_error) and unpublished events. */
  onError?: (err: unknown) => void
}


type Method = 'GET' | 'HEAD' | 'POST' | 'DELETE'

interface Exchange {
  route: Route
  request: Request
  requestId: string
  auth: AuthContext | undefined
  state: RequestState
  headers: HeaderBag
  query: Record<string, unknown>
  params: Record<string, string>
  body: unknown
  /** Response headers so far (request id, version, rate limits). */
  out: Record<string, string>
}

type Reply = { status: number, payload: string, contentType?: string } | { response: Response }

interface Route {
  method: Method
  path: string
  access: RouteAccess
  limiter: RouteLimiter
  handle (x: Exchange): Reply | Promise<Reply>
}

const realSleep = (ms: number) => new Promise<void>((resolve) => { setTimeout(resolve, ms) })

function headerBag (h: Headers): HeaderBag {
  const out: HeaderBag = {}
  for (const [k, v] of h) out[k] = v
  return out
}

function queryOf (url: URL): Record<string, unknown> {
  const q: Record<string, unknown> = Object.create(null)
  for (const [k, v] of url.searchParams) {
    const prev = q[k]
    q[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return q
}

/**
 * The Tenzro API (docs/api.md) as msw handlers, served from a mock context:
 * `server.use(...handlers)` or `setupServer(...handlers)`. The helpers stand in for the control API of
 * contract 7.4 (tenants, keys, faults, events, record, reset) without HTTP.
 */
export function createTenzroHandlers (options: TenzroHandlersOptions = {}) {
  const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '')
  if (!/^https?:\/\/[^/]+(\/.*)?$/.test(baseUrl)) throw new TypeError(`baseUrl must be an http(s) URL, got ${JSON.stringify(options.baseUrl)}`)
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, '')
  const ownsContext = options.context === undefined
  let ownsEvents = false
  let context: MockContext
  if (options.context !== undefined) {
    context = options.context
  } else {
    const config: MockConfig = resolveConfig(options.config ?? {})
    const now = options.now ?? Date.now
    let events = options.eventLog
    if (events === undefined) {
      if (config.events.backend !== 'memory') throw new TypeError('createTenzroHandlers: for a NATS event log, pass it as eventLog (or pass a context built with it)')
      events = createMemoryEventLog({ capacity: config.events.capacity, now })
      ownsEvents = true
    }
    context = createMockContext(config, { now, events })
  }
  if (context.events === undefined) {
    context.events = createMemoryEventLog({ capacity: context.config.events.capacity, now: context.now })
    ownsEvents = true
  }
  const mock = context
  const config = mock.config
  const sleep = options.sleep ?? realSleep
  const onError = options.onError ?? (() => {})
  const nextId = createRequestIdGenerator()

  const store = options.limiterStore ?? createLimiterStore(config.rateLimit.store)
  const rateLimit = createRateLimit({ config: config.rateLimit, store, context: () => mock })
  const registry = createStreamRegistry({ heartbeatMs: config.events.heartbeatMs })
  const streams = createEventStreams({ context: () => mock, slots: createStreamSlots({ max: config.rateLimit.maxStreamsPerKey }), registry })
  const admin = keyAdmin(mock)
  const generator = createEventGenerator({
    rate: config.events.generatorRate,
    seed: config.seed,
    now: mock.now,
    tenants: () => mock.keys.tenants().map((t) => t.id),
    publish: (tenantId, subject, data) => mock.events.publish(tenantId, subject, data),
    onError
  })
  const unsubscribe = [
    mock.keys.onRevoke((key) => { registry.closeKey(key.id, 'revoked') }),
    mock.onReset(() => {
      registry.closeAll('reset')
      generator.reset()
      mock.events.reset().catch(onError)
      Promise.resolve(rateLimit.reset()).catch(onError)
    })
  ]
  generator.start()

  const ok = (x: Exchange, data: unknown, status = 200): Reply => ({ status, payload: JSON.stringify(dataEnvelope(x.requestId, data, mock.now())) })

  function record (x: { request: Request, requestId: string, state: RequestState, headers: HeaderBag, body: unknown }, route: Route | undefined, statusCode: number, retryAfter: unknown): void {
    const s = x.state
    if (s.recorded === true) return
    s.recorded = true
    const url = new URL(x.request.url)
    const path = url.pathname.slice(basePath.length) || '/'
    mock.record.append('request', requestEntry({
      requestId: x.requestId,
      sentRequestId: x.headers['x-request-id'],
      method: x.request.method,
      route: route?.path ?? null,
      url: path + url.search,
      statusCode,
      // In process there is no client address.
      ip: undefined,
      body: x.body,
      retryAfter,
      headers: x.headers,
      unsafe: config.unsafeDisableRedaction
    }, s))
  }

  /** One request through the pipeline, in the order of the Fastify app's hooks. */
  async function serve (route: Route | undefined, request: Request, params: Record<string, string>): Promise<Response> {
    const headers = headerBag(request.headers)
    const url = new URL(request.url)
    const requestId = requestIdFor(headers['x-request-id'], nextId)
    const state = newRequestState()
    const out: Record<string, string> = { 'x-request-id': requestId, 'x-api-version': '1' }
    const x = { route, request, requestId, auth: undefined, state, headers, query: queryOf(url), params, body: undefined, out } as Exchange
    let status: number
    let payload: string
    let contentType = JSON_TYPE
    try {
      const common = checkCommonHeaders(headers)
      if (common !== undefined) throw common
      if (route === undefined) throw methods.refusal(request.method, url.pathname.slice(basePath.length) || '/') ?? notFoundError
      const a = authenticate(headers, mock.keys, route.access)
      applyAuth(state, a)
      if (!a.ok) throw a.error
      x.auth = a.auth
      if (a.auth !== undefined) state.faults = restFaultsFor(mock.faults, a.auth, route.method, route.path)
      const nowMs = mock.now()
      const pending = rateLimit.check(nowMs, a.auth, route.method, route.limiter, state.faults?.burst)
      if (pending !== undefined) {
        const d = pending instanceof Promise ? await pending : pending
        state.rateLimit = d
        Object.assign(out, rateLimit.headers(d, nowMs))
        const refusal = rateLimit.errorFor(d)
        if (refusal !== undefined) throw refusal
      }
      if (route.method === 'POST') x.body = parseBody(request.headers.get('content-type'), await request.text(), config.bodyLimitBytes, config.bodyMaxDepth)
      const idem = beginIdempotency(mock.idempotency, route.method, a.auth, route.access, headers['x-idempotency-key'], x.body)
      applyIdempotency(state, idem)
      if (idem.kind === 'refused') throw idem.error
      if (idem.kind === 'replay') {
        status = idem.response.statusCode
        payload = idem.response.payload
        contentType = idem.response.contentType
        out['idempotent-replayed'] = 'true'
      } else {
        const f = state.faults
        if (f !== undefined) {
          if (f.latencyMs > 0) await sleep(f.latencyMs)
          const injected = faultError(f)
          if (injected !== undefined) throw injected
        }
        const r = await route.handle(x)
        if ('response' in r) return r.response
        status = r.status
        payload = r.payload
        if (r.contentType !== undefined) contentType = r.contentType
      }
    } catch (err) {
      const e = asApiError(err)
      if (!(err instanceof ApiError)) onError(err)
      state.errorCode = e.code
      if (e.headers !== undefined) Object.assign(out, e.headers)
      status = e.statusCode
      payload = JSON.stringify(errorEnvelope(requestId, e, mock.now()))
      contentType = JSON_TYPE
    }
    finishIdempotency(mock.idempotency, state, status, payload, contentType)
    const f = state.faults
    if (f?.lostResponse === true && status < 400) {
      // 7.2 lost-response: the mutation happened and its idempotency entry is stored; the client sees
      // a network error instead of the answer.
      state.lost = true
      record(x, route, status, undefined)
      return HttpResponse.error()
    }
    out['content-type'] = contentType
    const bytes = new TextEncoder().encode(payload)
    out['content-length'] = String(bytes.byteLength)
    record(x, route, status, out['retry-after'])
    if (request.method === 'HEAD') return new Response(null, { status, headers: out })
    if (f?.slowBody === undefined) return new Response(bytes, { status, headers: out })
    const { chunkBytes, delayMs } = f.slowBody
    let offset = 0
    const body = new ReadableStream<Uint8Array>({
      async pull (c) {
        if (offset >= bytes.byteLength) { c.close(); return }
        await sleep(delayMs)
        c.enqueue(bytes.subarray(offset, offset + chunkBytes))
        offset += chunkBytes
      }
    })
    return new Response(body, { status, headers: out })
  }

  // ---- routes ---------------------------------------------------------------------------------------

  const routes: Route[] = []
  const methods = createMethodTable()
  function route (method: Method, path: string, access: RouteAccess, handle: Route['handle']): void {
    routes.push({ method, path, access, limiter: rateLimit.compile(method, path, access), handle })
    methods.add(method, path)
    // Fastify answers HEAD for every GET route (exposeHeadRoutes), counted in the GET route's limit;
    // HEAD on the stream answers its headers and opens nothing, as the Fastify route does.
    if (method === 'GET') {
      const head: Route['handle'] = path === '/api/events/stream'
        ? (x) => { parseStreamRequest(x.headers, x.query); return { status: 200, payload: '', contentType: SSE_HEADERS['content-type'] } }
        : handle
      routes.push({ method: 'HEAD', path, access, limiter: rateLimit.compile('HEAD', path, access), handle: head })
    }
  }

  const health = (x: Exchange): Reply => ok(x, { status: 'ok' })
  route('GET', '/health', { public: true, rateLimit: false }, health)
  route('GET', '/api/events/health', { public: true, rateLimit: false }, (x) => {
    if (!mock.events.healthy()) throw streams.unhealthy
    return health(x)
  })

  route('GET', '/api/wallet/list', { scope: 'wallet:read' }, (x) => ({ status: 200, payload: walletListPayload(mock, x.auth!, x.query, x.requestId) }))
  route('POST', '/api/wallet/create', { scope: 'wallet:write' }, async (x) => ok(x, await createWallet(mock, x.auth!, x.body, onError), 201))

  route('GET', '/api/events/stream', { scope: 'events:read' }, async (x) => {
    const plan = await streams.prepare(x.auth!, x.requestId, x.headers, x.query)
    const sink = new StreamBody()
    // Chunked framing, as on the Fastify mock's socket: msw's socket-level interception serialises the
    // Response as HTTP/1.1, and without framing a cut body (fault sse-drop) would read as a clean end.
    const response = new Response(sink.body, { status: 200, headers: { ...x.out, ...SSE_HEADERS, 'transfer-encoding': 'chunked' } })
    // SseStream writes to node:http's ServerResponse; StreamBody is the part of it that it uses.
    streams.start(plan, sink as unknown as ServerResponse, () => { record(x, x.route, 200, undefined) }).catch(onError)
    return { response }
  })

  for (const prefix of ['/api/keys', '/api/apikeys']) {
    route('POST', prefix, { admin: true }, (x) => ok(x, admin.create(x.auth!, x.body), 201))
    route('DELETE', prefix + '/:id', { admin: true }, (x) => ok(x, admin.revoke(x.auth!, x.params.id!)))
    route('GET', prefix + '/tenant/:tenantId', { admin: true }, (x) => ok(x, admin.list(x.auth!, x.params.tenantId!)))
    route('GET', prefix + '/validate', {}, (x) => ({ status: 200, payload: JSON.stringify(admin.validate(x.auth!, x.state.rateLimit)) }))
  }

  const verbs = { GET: http.get, HEAD: http.head, POST: http.post, DELETE: http.delete }
  const handlers: HttpHandler[] = routes.map((r) =>
    verbs[r.method](baseUrl + r.path, ({ request, params }) => {
      // msw matches a trailing slash that the Fastify router (ignoreTrailingSlash: false) does not.
      const path = new URL(request.url).pathname
      return serve(path.endsWith('/') && !r.path.endsWith('/') ? undefined : r, request, params as Record<string, string>)
    }))
  // Everything else under the base URL is 404 not_found in the envelope, like the Fastify mock.
  handlers.push(http.all(baseUrl + '/*', ({ request }) => serve(undefined, request, {})))

  return {
    handlers,
    context: mock,
    baseUrl,
    // The control API of contract 7.4, in process (msw/control.ts).
    ...createControlHelpers(mock, registry),

    /** Stop the generator, close open streams, and release what these handlers created. */
    async close (): Promise<void> {
      generator.stop()
      for (const u of unsubscribe) u()
      registry.closeAll('shutdown')
      if (options.limiterStore === undefined) await store.close()
      if (ownsEvents) await mock.events.close()
      if (ownsContext) await mock.record.close()
    }
  }
}

export type TenzroHandlers = ReturnType<typeof createTenzroHandlers>
