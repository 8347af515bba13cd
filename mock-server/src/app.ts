// buildApp(config, deps): a ready Fastify instance of the Tenzro mock. Never reads the environment and
// never listens (house style principle 1): server.ts and the tests do that.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyError, type FastifyReply } from 'fastify'
import pino, { type Bindings, type ChildLoggerOptions, type DestinationStream } from 'pino'
import type { MockConfig } from './config.ts'
import { createMockContext, type MockContext } from './context.ts'
import { ApiError, isApiError, MESSAGES, type ErrorDetail } from './errors.ts'
import { BODY_ERRORS, createMethodTable, createRequestIdGenerator, errorEnvelope, newRequestState, notFoundError, parseBody, requestIdFor } from './pipeline/index.ts'
import { createLogger, serializeError } from './logger.ts'
import { clientErrorFor, inFlightOn, rawAnswer, serverOptions } from './http-layer.ts'
import { createEventLog } from './domain/event-log/index.ts'
import { createSharedState, type SharedState } from './domain/shared/index.ts'
import type { EventLog } from './domain/event-log/types.ts'
import type { Tracer } from '@opentelemetry/api'
import requestContext from './plugins/request-context.ts'
import overload from './plugins/overload.ts'
import controlGuard from './plugins/control-guard.ts'
import auth from './plugins/auth.ts'
import idempotency from './plugins/idempotency.ts'
import faults from './plugins/faults.ts'
import rateLimit from './plugins/rate-limit.ts'
import record from './plugins/record.ts'
import telemetry, { type FastSpans } from './plugins/telemetry.ts'
import tlsFaults from './plugins/tls-faults.ts'
import metrics from './plugins/metrics.ts'
import sharedState from './plugins/shared-state.ts'
import healthRoutes from './routes/health.ts'
import walletRoutes from './routes/wallets.ts'
import keyRoutes from './routes/keys.ts'
import controlRoutes from './routes/control.ts'
import eventRoutes from './routes/events.ts'
import openApiRoutes from './routes/openapi.ts'

declare module 'fastify' {
  interface FastifyInstance {
    mock: MockContext
  }
}

export interface AppDeps {
  /** Epoch ms clock; a fake one in tests. */
  now?: () => number
  /** A limiter store to use instead of the one config.rateLimit.store names. */
  limiterStore?: unknown
  /** An event log to use instead of the one config.events.backend names. */
  eventLog?: EventLog
  /** Where log lines go (default stdout). */
  logStream?: DestinationStream
  /** Tracing on (telemetry/sdk.ts startTracing); absent, the telemetry plugin adds no hook, so an untraced request pays nothing. */
  tracer?: Tracer
  /** SERVER spans through a span sink (telemetry/sdk.ts startTracing's `fast`); needs `tracer` for the other spans. */
  fast?: FastSpans | undefined
  /**
   * Serve HTTPS with this key and certificate (PEM), TLS 1.2 or later (server.ts --tls). `rogue`, a
   * certificate from another CA, enables the tls-untrusted and tls-downgrade faults.
   */
  tls?: { key: string | Buffer, cert: string | Buffer, rogue?: { key: string | Buffer, cert: string | Buffer } }
}

type LogArgs = [obj: unknown, msg?: string, ...args: unknown[]]

/**
 * request.log, made on first use. Fastify gives every request a pino child logger; almost no request
 * logs through it (its one line is the record's, plugins/record.ts), so the child, with the same
 * bindings (reqId) and options, is made only when something logs.
 */
class LazyRequestLogger {
  readonly #parent: FastifyBaseLogger
  readonly #bindings: Bindings
  readonly #options: ChildLoggerOptions
  #logger: FastifyBaseLogger | undefined

  constructor (parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  #get (): FastifyBaseLogger {
    this.#logger ??= this.#parent.child(this.#bindings, this.#options)
    return this.#logger
  }

  get level (): string { return this.#logger?.level ?? this.#options.level ?? this.#parent.level }
  set level (level: string) { this.#get().level = level }
  fatal (...args: LogArgs): void { const l = this.#get(); Reflect.apply(l.fatal, l, args) }
  error (...args: LogArgs): void { const l = this.#get(); Reflect.apply(l.error, l, args) }
  warn (...args: LogArgs): void { const l = this.#get(); Reflect.apply(l.warn, l, args) }
  info (...args: LogArgs): void { const l = this.#get(); Reflect.apply(l.info, l, args) }
  debug (...args: LogArgs): void { const l = this.#get(); Reflect.apply(l.debug, l, args) }
  trace (...args: LogArgs): void { const l = this.#get(); Reflect.apply(l.trace, l, args) }
  silent (...args: LogArgs): void { const l = this.#get(); Reflect.apply(l.silent, l, args) }
  child (bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger { return this.#get().child(bindings, options) }
}

function validationDetails (err: FastifyError): ErrorDetail[] {
  return (err.validation ?? []).map((v) => {
    const params = v.params as Record<string, unknown>
    const field = typeof params.missingProperty === 'string'
      ? params.missingProperty
      : typeof params.additionalProperty === 'string'
        ? params.additionalProperty
        : (v.instancePath || '').replace(/^\//, '').replace(/\//g, '.') || (err.validationContext ?? 'request')
    return { field, message: v.message ?? 'is invalid' }
  })
}

const paramTooLong = new ApiError('not_found', MESSAGES.not_found, [{ field: 'path', message: 'a path parameter is too long' }])
const badUrl = new ApiError('validation_error', 'The URL is not valid: fix its percent-encoding.', [{ field: 'url', message: 'invalid percent-encoding' }])
const rejectedByHttp = new ApiError('validation_error', 'The request is invalid.', [{ field: 'request', message: 'rejected by the HTTP layer' }])
const internalError = new ApiError('internal_error', MESSAGES.internal_error)
const badContentLength = new ApiError('validation_error', 'Content-Length does not match the body.', [{ field: 'Content-Length', message: 'does not match the body' }])

/** Any error becomes the envelope of contract 1.5; nothing internal (stack, path, raw message) leaks. */
function toApiError (err: FastifyError | ApiError): ApiError {
  if (isApiError(err)) return err
  if (err.validation !== undefined) return new ApiError('validation_error', 'The request is invalid; see details.', validationDetails(err))
  // Fastify's own body parser refuses with the very errors the msw handlers' parseBody throws.
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return BODY_ERRORS.tooLarge
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return BODY_ERRORS.badMediaType
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return BODY_ERRORS.emptyJson
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH': return badContentLength
  }
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return BODY_ERRORS.badJson
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return rejectedByHttp
  return internalError
}

export async function buildApp (config: MockConfig, deps: AppDeps = {}): Promise<FastifyInstance> {
  const now = deps.now ?? Date.now
  const events = deps.eventLog ?? await createEventLog(config.events, { now, seed: config.seed })
  const logStream = deps.logStream ?? pino.destination({ fd: 1, sync: false })
  const logger = createLogger({ level: config.logLevel, unsafeDisableRedaction: config.unsafeDisableRedaction, stream: logStream })
  let shared: SharedState | undefined
  if (config.state.store !== 'memory') {
    try {
      shared = await createSharedState({
        url: config.state.store,
        idempotencyTtlMs: config.idempotency.ttlMs,
        recordCapacity: config.record.capacity,
        onError: (err, what) => { logger.warn({ err: { message: err.message } }, `${what}: Redis call failed`) }
      })
    } catch (err) {
      await events.close().catch(() => {})
      throw err
    }
  }
  const context = createMockContext(config, { now, events, ...(shared === undefined ? {} : { shared }) })
  const nextId = createRequestIdGenerator()

  const app = Fastify({
    loggerInstance: logger,
    // One line per request, written by plugins/record.ts from the record entry (key ids, the path
    // without its query), replaces Fastify's two: half the log volume under load.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory (logger, bindings, options) {
      return new LazyRequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger
    },
    requestIdHeader: false,
    genReqId (req) {
      return requestIdFor(req.headers['x-request-id'], nextId)
    },
    // Fastify answers a bad %-escape or an over-long path parameter before any hook, echoing the raw path
    // (which may hold a key) outside the envelope. Answer in the envelope, never echo, and record it (1.5, 7.3).
    frameworkErrors (err, request, reply) {
      request.state = newRequestState()
      const apiErr = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? paramTooLong : err.code === 'FST_ERR_BAD_URL' ? badUrl : internalError
      request.state.errorCode = apiErr.code
      reply.raw.once('close', () => { app.recordRequest(request, apiErr.statusCode) })
      ;(reply as unknown as FastifyReply).header('x-request-id', request.id).header('x-api-version', '1')
        .code(apiErr.statusCode).send(errorEnvelope(request.id, apiErr, now()))
    },
    // A request Node's HTTP layer refuses (bad framing, oversized headers, a header or body timeout, an
    // unknown method) never reaches a route: answer it in the envelope with a request id, and record it (1.5, 7.3).
    clientErrorHandler (err: NodeJS.ErrnoException, socket) {
      if (err.code === 'ECONNRESET' || socket.destroyed) return
      const request = inFlightOn(socket)
      const apiErr = clientErrorFor(err.code, request !== undefined)
      const id = request?.id ?? nextId()
      if (request !== undefined) {
        request.state.errorCode = apiErr.code
        app.recordRequest(request, apiErr.statusCode)
      } else {
        context.record.append('request', { requestId: id, clientRequestId: false, method: null, route: null, path: null, status: apiErr.statusCode, ip: socket.remoteAddress ?? null, code: apiErr.code, httpError: err.code ?? null })
      }
      if (socket.writable) socket.write(rawAnswer(apiErr, id, JSON.stringify(errorEnvelope(id, apiErr, now()))))
      socket.destroy()
    },
    ...(deps.tls === undefined
      ? { http: serverOptions(config.http) }
      // https.createServer takes the http options too; Fastify passes only this object to it.
      : { https: { ...serverOptions(config.http), key: deps.tls.key, cert: deps.tls.cert, minVersion: 'TLSv1.2' as const } }),
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    bodyLimit: config.bodyLimitBytes,
    return503OnClosing: true,
    forceCloseConnections: true,
    routerOptions: { ignoreTrailingSlash: false }
  })

  app.decorate('mock', context)
  // One JSON parser for both mocks (pipeline/body.ts, which the msw handlers call too): size and
  // nesting depth are checked on the raw text before it is parsed (README, "HTTP limits").
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: config.bodyLimitBytes }, function (_request, body, done) {
    try {
      done(null, parseBody('application/json', body as string, config.bodyLimitBytes, config.bodyMaxDepth))
    } catch (err) {
      done(err as Error, undefined)
    }
  })
  const ctx = () => app.mock

  // First, so its SERVER span also covers requests the other onRequest hooks refuse.
  await app.register(telemetry, { tracer: deps.tracer, fast: deps.fast, unsafeDisableRedaction: config.unsafeDisableRedaction })
  await app.register(requestContext)
  await app.register(overload, { config: config.overload })
  await app.register(controlGuard, { token: config.controlToken, allowRemote: config.controlAllowRemote })
  if (deps.tls?.rogue !== undefined) await app.register(tlsFaults, { context: ctx, trusted: deps.tls, rogue: deps.tls.rogue })
  if (shared !== undefined) await app.register(sharedState, { shared })
  await app.register(auth, { keys: () => ctx().keys, catchUp: shared?.catchUp })
  await app.register(idempotency, { store: () => ctx().idempotency, shared: shared?.idempotency })
  await app.register(faults, { context: ctx })
  await app.register(rateLimit, { config, store: deps.limiterStore })
  await app.register(record, {
    context: ctx,
    unsafeLogHeaders: config.unsafeDisableRedaction,
    log: { enabled: logger.isLevelEnabled('info'), write: (lines) => { logStream.write(lines) } }
  })

  app.setErrorHandler(function (err: FastifyError | ApiError, request, reply) {
    const apiErr = toApiError(err)
    if (apiErr.statusCode >= 500 && !isApiError(err)) request.log.error({ err: serializeError(err) }, 'unhandled error')
    if (request.state !== null) request.state.errorCode = apiErr.code
    if (apiErr.headers !== undefined) reply.headers(apiErr.headers)
    reply.code(apiErr.statusCode).send(errorEnvelope(request.id, apiErr, now()))
  })

  const methods = createMethodTable()
  app.addHook('onRoute', (route) => { methods.add(route.method, route.url) })
  app.setNotFoundHandler(function (request, _reply) {
    throw methods.refusal(request.method, request.url) ?? notFoundError
  })
  // Node answers an Expect other than 100-continue with a bare 417 unless someone listens: route it,
  // and the request-context step answers 417 in the envelope.
  app.server.on('checkExpectation', app.routing)

  if (config.metrics.enabled) await app.register(metrics, { context: ctx, maxTenants: config.metrics.maxTenants, spanStats: () => app.telemetry.spanStats() })
  await app.register(healthRoutes)
  await app.register(walletRoutes)
  await app.register(keyRoutes)
  await app.register(controlRoutes)
  await app.register(eventRoutes)
  await app.register(openApiRoutes)

  app.addHook('onClose', async () => {
    await context.events?.close()
    await context.record.close()
    await shared?.close()
  })

  await app.ready()
  return app as unknown as FastifyInstance
}
