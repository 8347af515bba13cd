// One logical request, as many attempts as the retry policy allows (contract 1, 5, 6): the key and
// tenant only in headers, one X-Request-Id per logical request, a slot from the throttle before every
// attempt, a CLIENT span per attempt under one INTERNAL span per operation, W3C trace context in the
// request headers. Configure once, run cheap: everything per request is numbers, one headers object
// and the spans (house style principle 2).
import { context, propagation, trace, isSpanContextValid, SpanKind, SpanStatusCode, type Context, type Span, type Tracer } from '@opentelemetry/api'
import { TenzroApiError, safeCause, type ErrorDetail } from './errors.ts'
import { backoffMs, isRetryable, parseRetryAfter, type RetryOptions } from './retry.ts'
import type { Throttle } from './throttle.ts'
import {
  ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_REQUEST_RESEND_COUNT, ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_TENZRO_ATTEMPTS, ATTR_TENZRO_ERROR_CODE, ATTR_TENZRO_IDEMPOTENT_REPLAYED,
  ATTR_TENZRO_OPERATION, ATTR_TENZRO_REQUEST_ID, ATTR_TENZRO_RETRY_DELAY_MS, ATTR_URL_FULL, ATTR_URL_TEMPLATE, EVENT_RETRY
} from './names.ts'

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>

/** A pino-compatible logger; every field the client passes is free of secrets by construction. */
export interface ClientLogger {
  debug? (obj: Record<string, unknown>, msg: string): void
  info? (obj: Record<string, unknown>, msg: string): void
  warn? (obj: Record<string, unknown>, msg: string): void
  error? (obj: Record<string, unknown>, msg: string): void
}

/** What every part of the client shares, built once by createTenzroClient. */
export interface ClientContext {
  baseUrl: string
  serverAddress: string
  serverPort: number
  /** The headers every request carries, secrets included: only ever handed to fetch, never logged or put on a span. */
  authHeaders: Readonly<Record<string, string>>
  fetch: FetchLike
  now: () => number
  sleep: Sleep
  random: () => number
  tracer: Tracer
  logger: ClientLogger
  throttle: Throttle
  retry: RetryOptions
  redact: (text: string) => string
  nextRequestId: () => string
}

export interface HttpOperation {
  /** Name of the INTERNAL parent span, e.g. 'tenzro wallets.list'. */
  name: string
  method: 'GET' | 'POST'
  /** The route template (url.template), e.g. '/api/wallet/list'. */
  route: string
  /** The path with its query string; never holds a secret. */
  path: string
  /** JSON text of the body. */
  body?: string | undefined
  idempotencyKey?: string | undefined
  signal?: AbortSignal | undefined
}

export interface HttpResult<T = unknown> {
  status: number
  /** The parsed success envelope (contract 1.4). */
  body: { data: T, meta: Record<string, unknown> }
  requestId: string
  /** The server answered from its idempotency store (contract 6.1 Idempotent-Replayed). */
  replayed: boolean
  attempts: number
}

const JSON_HEADERS = { accept: 'application/json' }

/**
 * W3C Trace Context on the request: through the global propagator (propagation.inject), and written
 * directly when none is registered (the API's default propagator injects nothing, yet the server's
 * record wants the trace id). Nothing at all when there is no valid span context (no SDK): the
 * no-op path costs one check.
 */
export function injectTraceContext (parentCtx: Context, span: Span, headers: Record<string, string>): void {
  const sc = span.spanContext()
  if (!isSpanContextValid(sc)) return
  propagation.inject(trace.setSpan(parentCtx, span), headers)
  if (headers.traceparent === undefined) headers.traceparent = `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`
}

function waitFor (c: ClientContext, untilMs: number, signal: AbortSignal | undefined): Promise<void> | undefined {
  const ms = untilMs - c.now()
  return ms > 0 ? c.sleep(ms, signal) : undefined
}

/** Waits for a throttle slot; returns the reservation number. Throws deadline_exceeded if the slot lies past the deadline. */
export async function acquireSlot (c: ClientContext, deadline: number, signal: AbortSignal | undefined, requestId: string, attempts: number): Promise<number> {
  const t = c.throttle
  for (;;) {
    const at = t.reserve()
    const reservation = t.sequence
    if (at > deadline) {
      throw new TenzroApiError({ code: 'deadline_exceeded', message: `No request slot before the deadline: the rate limit admits the next request in ${Math.ceil(at - c.now())} ms. Raise retry.deadlineMs or send less.`, requestId, retryAfterMs: Math.ceil(at - c.now()), attempts })
    }
    const w = waitFor(c, at, signal)
    if (w !== undefined) await w
    const again = t.recheck(reservation)
    if (again === 0) return reservation
    // The server said the window is spent after this slot was handed out: queue again behind the reset.
    const w2 = waitFor(c, again, signal)
    if (w2 !== undefined) await w2
  }
}

/** End a CLIENT span with the status code and, on failure, error.type and ERROR status. */
export function endAttempt (span: Span, status: number, errorType: string | undefined): void {
  if (span.isRecording()) {
    if (status > 0) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
    if (errorType !== undefined) {
      span.setAttribute(ATTR_ERROR_TYPE, errorType)
      span.setStatus({ code: SpanStatusCode.ERROR })
    }
  }
  span.end()
}

/** Reads X-RateLimit-* (contract 5.2) into the throttle. */
export function observeRateLimit (c: ClientContext, headers: Headers, reservation: number): void {
  const remaining = headers.get('x-ratelimit-remaining')
  if (remaining === null) return
  c.throttle.observe(Number(headers.get('x-ratelimit-limit')), Number(remaining), Number(headers.get('x-ratelimit-reset')), reservation)
}

/** Builds the error of a non-2xx answer from the envelope of contract 1.5 (or the status alone if the body is not one). */
export function errorFromResponse (c: ClientContext, status: number, text: string, requestId: string, retryAfterMs: number | undefined, attempts: number, what: string): TenzroApiError {
  let code = `http_${status}`
  let message = ''
  let details: ErrorDetail[] = []
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown, message?: unknown, details?: unknown } }).error
    if (e !== undefined && typeof e.code === 'string') {
      code = e.code
      if (typeof e.message === 'string') message = c.redact(e.message)
      if (Array.isArray(e.details)) {
        details = e.details.filter((d): d is ErrorDetail => typeof d === 'object' && d !== null && typeof d.field === 'string' && typeof d.message === 'string')
          .map((d) => ({ field: c.redact(d.field), message: c.redact(d.message) }))
      }
    }
  } catch {
    // not an envelope: status and code http_<status> are all we know
  }
  return new TenzroApiError({
    code,
    status,
    requestId,
    retryAfterMs,
    details,
    attempts,
    message: `${what} failed with ${status} ${code}${message === '' ? '' : `: ${message}`} (request ${requestId}, attempt ${attempts})`
  })
}

export function networkError (c: ClientContext, err: unknown, requestId: string, attempts: number, what: string, timedOut: boolean): TenzroApiError {
  const cause = safeCause(err, c.redact)
  if (timedOut) {
    return new TenzroApiError({ code: 'timeout', message: `${what} took longer than ${c.retry.attemptTimeoutMs} ms (request ${requestId}, attempt ${attempts})`, requestId, attempts, cause })
  }
  return new TenzroApiError({
    code: 'network_error',
    message: `${what} failed before a complete response: ${cause.code ?? cause.name}: ${cause.message} (request ${requestId}, attempt ${attempts})`,
    requestId,
    attempts,
    cause
  })
}

function abortedError (requestId: string, attempts: number, what: string): TenzroApiError {
  return new TenzroApiError({ code: 'aborted', requestId, attempts, message: `${what} was aborted by the caller (request ${requestId})` })
}

/**
 * Sends one logical request with retries (house style "Client"): Retry-After first, otherwise capped
 * exponential backoff with full jitter; at most retry.maxAttempts attempts; no attempt or wait past
 * retry.deadlineMs. Resolves with the success envelope, rejects with a TenzroApiError.
 */
export async function send<T> (c: ClientContext, op: HttpOperation): Promise<HttpResult<T>> {
  const start = c.now()
  const deadline = start + c.retry.deadlineMs
  const requestId = c.nextRequestId()
  const idempotent = op.method === 'GET' || op.idempotencyKey !== undefined
  const what = `${op.method} ${op.route}`
  const url = c.baseUrl + op.path
  const active = context.active()
  const parent = c.tracer.startSpan(op.name, { kind: SpanKind.INTERNAL }, active)
  const recording = parent.isRecording()
  if (recording) {
    parent.setAttribute(ATTR_TENZRO_OPERATION, op.name)
    parent.setAttribute(ATTR_TENZRO_REQUEST_ID, requestId)
  }
  const parentCtx: Context = trace.setSpan(active, parent)
  let attempt = 0
  try {
    for (;;) {
      const reservation = await acquireSlot(c, deadline, op.signal, requestId, attempt + 1)
      const span = c.tracer.startSpan(what, { kind: SpanKind.CLIENT }, parentCtx)
      const headers: Record<string, string> = { ...c.authHeaders, ...JSON_HEADERS, 'x-request-id': requestId }
      if (op.body !== undefined) headers['content-type'] = 'application/json'
      if (op.idempotencyKey !== undefined) headers['x-idempotency-key'] = op.idempotencyKey
      if (span.isRecording()) {
        span.setAttribute(ATTR_HTTP_REQUEST_METHOD, op.method)
        span.setAttribute(ATTR_URL_FULL, url)
        span.setAttribute(ATTR_URL_TEMPLATE, op.route)
        span.setAttribute(ATTR_SERVER_ADDRESS, c.serverAddress)
        span.setAttribute(ATTR_SERVER_PORT, c.serverPort)
        span.setAttribute(ATTR_TENZRO_REQUEST_ID, requestId)
        if (attempt > 0) span.setAttribute(ATTR_HTTP_REQUEST_RESEND_COUNT, attempt)
      }
      injectTraceContext(parentCtx, span, headers)

      const remaining = deadline - c.now()
      const timeoutMs = remaining < c.retry.attemptTimeoutMs ? Math.max(1, remaining) : c.retry.attemptTimeoutMs
      const ac = new AbortController()
      let timedOut = false
      const timer = setTimeout(() => { timedOut = true; ac.abort() }, timeoutMs)
      const onAbort = op.signal === undefined ? undefined : () => { ac.abort() }
      if (onAbort !== undefined) op.signal!.addEventListener('abort', onAbort, { once: true })

      let failure: TenzroApiError
      let status = 0
      let retryAfterMs: number | undefined
      try {
        const res = await c.fetch(url, { method: op.method, headers, body: op.body, signal: ac.signal })
        status = res.status
        const text = await res.text()
        observeRateLimit(c, res.headers, reservation)
        if (status >= 200 && status < 300) {
          let body: HttpResult<T>['body']
          try {
            body = JSON.parse(text) as HttpResult<T>['body']
            if (body === null || typeof body !== 'object' || !('data' in body)) throw new SyntaxError('no data member')
          } catch {
            endAttempt(span, status, 'invalid_response')
            throw new TenzroApiError({ code: 'invalid_response', status, requestId, attempts: attempt + 1, message: `${what} answered ${status} with a body that is not the JSON envelope of contract 1.4 (request ${requestId})` })
          }
          const replayed = res.headers.get('idempotent-replayed') === 'true'
          endAttempt(span, status, undefined)
          if (recording) {
            parent.setAttribute(ATTR_TENZRO_ATTEMPTS, attempt + 1)
            if (replayed) parent.setAttribute(ATTR_TENZRO_IDEMPOTENT_REPLAYED, true)
          }
          return { status, body, requestId, replayed, attempts: attempt + 1 }
        }
        if (status === 429 || status === 503) {
          retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), c.now())
          if (retryAfterMs === undefined && status === 429) {
            const reset = Number(res.headers.get('x-ratelimit-reset'))
            if (reset > 0) retryAfterMs = Math.max(0, reset * 1000 - c.now())
          }
          // The server is refusing this key (429) or is overloaded (503): nobody should send before then.
          if (retryAfterMs !== undefined) c.throttle.pause(c.now() + retryAfterMs)
        }
        failure = errorFromResponse(c, status, text, requestId, retryAfterMs, attempt + 1, what)
        endAttempt(span, status, String(status))
      } catch (err) {
        if (err instanceof TenzroApiError) throw err
        if (op.signal?.aborted === true) {
          endAttempt(span, status, 'aborted')
          throw abortedError(requestId, attempt + 1, what)
        }
        failure = networkError(c, err, requestId, attempt + 1, what, timedOut)
        endAttempt(span, status, failure.code)
        // Headers may have arrived before the body failed: for the retry decision this is no answer.
        status = 0
      } finally {
        clearTimeout(timer)
        if (onAbort !== undefined) op.signal!.removeEventListener('abort', onAbort)
      }

      if (!isRetryable(status, failure.code, idempotent)) throw failure
      if (attempt + 1 >= c.retry.maxAttempts) throw failure
      const delay = retryAfterMs ?? backoffMs(attempt, c.retry.baseMs, c.retry.capMs, c.random)
      if (c.now() + delay > deadline) {
        throw new TenzroApiError({
          code: failure.code,
          status: failure.status,
          requestId,
          retryAfterMs,
          details: failure.details,
          attempts: attempt + 1,
          message: `${failure.message}; not retried: waiting ${delay} ms would pass the deadline of ${c.retry.deadlineMs} ms`
        })
      }
      if (recording) parent.addEvent(EVENT_RETRY, { [ATTR_TENZRO_ERROR_CODE]: failure.code, [ATTR_HTTP_RESPONSE_STATUS_CODE]: status, [ATTR_TENZRO_RETRY_DELAY_MS]: delay })
      c.logger.warn?.({ requestId, route: op.route, method: op.method, status, code: failure.code, attempt: attempt + 1, delayMs: delay }, 'tenzro request failed; retrying')
      if (delay > 0) await c.sleep(delay, op.signal)
      attempt++
    }
  } catch (caught) {
    // A sleep cut short by the caller's signal rejects with an AbortError: report it as ours.
    const err = caught instanceof TenzroApiError ? caught : op.signal?.aborted === true ? abortedError(requestId, attempt + 1, what) : caught
    if (recording) {
      const e = err as TenzroApiError
      parent.setAttribute(ATTR_ERROR_TYPE, typeof e.code === 'string' ? e.code : 'error')
      parent.setAttribute(ATTR_TENZRO_ATTEMPTS, attempt + 1)
      parent.setStatus({ code: SpanStatusCode.ERROR, message: typeof e.code === 'string' ? e.code : 'error' })
    }
    c.logger.debug?.({ requestId, route: op.route, method: op.method, status: (err as TenzroApiError).status, code: (err as TenzroApiError).code, attempts: attempt + 1 }, 'tenzro request failed')
    throw err
  } finally {
    parent.end()
  }
}
