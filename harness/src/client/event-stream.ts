// The event stream consumer (contract 4): SSE over fetch, resumed with Last-Event-ID of the last
// event the handler finished, each event id handled once, gaps handed to a resync callback, stalls
// detected by a heartbeat timeout, and backpressure by awaiting the handler before reading on.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, isSpanContextValid, trace, type Link, type Span } from '@opentelemetry/api'
import { TenzroApiError } from './errors.ts'
import { acquireSlot, endAttempt, errorFromResponse, injectTraceContext, networkError, observeRateLimit, type ClientContext } from './http.ts'
import { backoffMs, parseRetryAfter } from './retry.ts'
import { createSseParser, type SseMessage } from './sse-parser.ts'
import {
  ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID, ATTR_MESSAGING_OPERATION_NAME, ATTR_MESSAGING_OPERATION_TYPE, ATTR_MESSAGING_SYSTEM,
  ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_TENZRO_REQUEST_ID, ATTR_TENZRO_STREAM_RECONNECTS, ATTR_URL_FULL, ATTR_URL_TEMPLATE,
  MESSAGING_OPERATION_PROCESS, MESSAGING_SYSTEM, ROUTE_EVENT_STREAM
} from './names.ts'

/** One event of contract 4.3, as the handler sees it. */
export interface TenzroEvent {
  /** The SSE id: the tenant stream's sequence number, as text. */
  id: string
  /** The same, as a number (NaN if the server sent a non-numeric id). */
  seq: number
  /** The subject (SSE `event` field), e.g. 'wallet.created'. */
  subject: string
  /** `evt_<sequence>` from the payload. */
  eventId: string | undefined
  tenantId: string | undefined
  timestamp: string | undefined
  /** The payload's `data` member. */
  data: unknown
}

/** Events `from`..`to` (inclusive) are lost for good (contract 4.4): resynchronise, e.g. by listing wallets. */
export interface StreamGap {
  from: number
  to: number
}

export interface ConsumeOptions {
  /** NATS subject patterns (contract 4.2), e.g. ['wallet.*', 'ledger.>']; all of the tenant's events when absent. */
  subjects?: string | readonly string[]
  /** Resume after this id (contract 4.4); absent means live from now. */
  lastEventId?: string
  /** Called once per event id, in order; the next event is not read until it settles. A throw stops the consumer. */
  handler: (event: TenzroEvent) => unknown
  /** Called for `event: stream.gap` before the events after the gap. Without it a gap is only logged. */
  onGap?: (gap: StreamGap) => unknown
  /** Stops consuming; consume() then resolves. */
  signal?: AbortSignal
  /** No byte for this long means the stream is stalled: reconnect. Default 37 500 (2.5 x the 15 s heartbeat, contract 4.3). */
  heartbeatTimeoutMs?: number
  /** Give up after this many connections in a row that failed or delivered nothing (default unlimited). */
  maxConsecutiveFailures?: number
}

export interface ConsumeResult {
  /** Where a new consume() should resume (pass as lastEventId). */
  lastEventId: string | undefined
  handled: number
  duplicates: number
  gaps: number
  /** Streams that opened (200). */
  connections: number
  /** Reconnections after a drop, stall or refusal. */
  reconnects: number
  stalls: number
  /** Events whose data was not JSON: logged and skipped. */
  invalid: number
}

export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 37_500
/** Reconnection time until the server sends `retry:` (contract 4.3 default). */
const DEFAULT_RECONNECT_MS = 1000
/** Non-numeric ids are remembered in a window of this size (numeric ids need only the high-water mark). */
const ID_WINDOW = 256
const DIGITS = /^\d{1,15}$/

class HandlerFailure {
  readonly error: unknown
  constructor (error: unknown) { this.error = error }
}

function streamPath (subjects: ConsumeOptions['subjects']): string {
  if (subjects === undefined) return ROUTE_EVENT_STREAM
  const list = typeof subjects === 'string' ? subjects : subjects.join(',')
  return list.length === 0 ? ROUTE_EVENT_STREAM : `${ROUTE_EVENT_STREAM}?subjects=${encodeURIComponent(list)}`
}

export function createEvents (c: ClientContext) {
  async function consume (o: ConsumeOptions): Promise<ConsumeResult> {
    if (typeof o?.handler !== 'function') throw new TypeError('events.consume needs a handler function')
    const heartbeatMs = o.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS
    if (!(heartbeatMs > 0)) throw new RangeError('heartbeatTimeoutMs must be > 0')
    const maxFailures = o.maxConsecutiveFailures ?? Number.POSITIVE_INFINITY
    const signal = o.signal
    const url = c.baseUrl + streamPath(o.subjects)
    const what = `GET ${ROUTE_EVENT_STREAM}`
    const outer = context.active()

    let lastId = o.lastEventId
    // The high-water mark: ids are strictly increasing per tenant stream (4.3), so any id at or below
    // it was handled already (4.6 duplicates).
    let high = lastId !== undefined && DIGITS.test(lastId) ? Number(lastId) : -1
    const recent = new Set<string>()
    let reconnectMs = DEFAULT_RECONNECT_MS
    let failures = 0
    const result: ConsumeResult = { lastEventId: lastId, handled: 0, duplicates: 0, gaps: 0, connections: 0, reconnects: 0, stalls: 0, invalid: 0 }

    const stopped = () => signal?.aborted === true

    async function pause (ms: number): Promise<void> {
      if (ms <= 0) return
      try {
        await c.sleep(ms, signal)
      } catch (err) {
        if (!stopped()) throw err
      }
    }

    function retryDelay (retryAfterMs: number | undefined): number {
      if (retryAfterMs !== undefined) return Math.max(retryAfterMs, reconnectMs)
      // First reconnection after a drop waits the server's reconnection time (`retry:`); repeated
      // failures back off exponentially with full jitter, never below it.
      if (failures <= 1) return reconnectMs
      return Math.max(reconnectMs, backoffMs(failures - 2, c.retry.baseMs, c.retry.capMs, c.random))
    }

    /** Handles one dispatched message; returns true if it made progress (an event handled or a gap resolved). */
    async function deliver (m: SseMessage, link: Link | undefined): Promise<boolean> {
      if (m.event === 'stream.gap') {
        let gap: StreamGap
        try {
          const g = JSON.parse(m.data) as { from?: unknown, to?: unknown }
          if (typeof g.from !== 'number' || typeof g.to !== 'number') throw new TypeError('from/to')
          gap = { from: g.from, to: g.to }
        } catch {
          result.invalid++
          c.logger.warn?.({ event: 'stream.gap' }, 'tenzro stream.gap without numeric from/to; ignored')
          return false
        }
        if (gap.to <= high) return false // a gap we already resolved, announced again on a resume
        result.gaps++
        c.logger.warn?.({ from: gap.from, to: gap.to }, 'tenzro event stream gap: events were lost; resynchronising')
        if (o.onGap === undefined) {
          c.logger.error?.({ from: gap.from, to: gap.to }, 'tenzro event stream gap and no onGap callback: the lost events are not recovered')
        } else {
          try {
            await o.onGap(gap)
          } catch (err) {
            throw new HandlerFailure(err)
          }
        }
        // Everything up to `to` is accounted for: resume after it, not before it (which would gap again).
        high = gap.to
        lastId = String(gap.to)
        result.lastEventId = lastId
        return true
      }

      const id = m.id
      const numeric = DIGITS.test(id)
      const seq = numeric ? Number(id) : Number.NaN
      if (numeric) {
        if (seq <= high) { result.duplicates++; return false }
      } else if (id !== '' && recent.has(id)) {
        result.duplicates++
        return false
      }

      let payload: { id?: unknown, tenantId?: unknown, timestamp?: unknown, data?: unknown }
      try {
        payload = JSON.parse(m.data) as typeof payload
        if (payload === null || typeof payload !== 'object') throw new TypeError('not an object')
      } catch {
        result.invalid++
        c.logger.warn?.({ eventId: id, subject: m.event }, 'tenzro event data is not a JSON object; skipped')
        markSeen(id, numeric, seq)
        return false
      }
      const event: TenzroEvent = {
        id,
        seq,
        subject: m.event,
        eventId: typeof payload.id === 'string' ? payload.id : undefined,
        tenantId: typeof payload.tenantId === 'string' ? payload.tenantId : undefined,
        timestamp: typeof payload.timestamp === 'string' ? payload.timestamp : undefined,
        data: payload.data
      }
      // A CONSUMER span per processed event (semconv messaging, "process" operation). Events carry no
      // trace context, so each is the root of its own trace, linked to the connection that brought it.
      const span = c.tracer.startSpan(`${MESSAGING_OPERATION_PROCESS} ${m.event}`, {
        kind: SpanKind.CONSUMER,
        attributes: {
          [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM,
          [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_PROCESS,
          [ATTR_MESSAGING_OPERATION_NAME]: MESSAGING_OPERATION_PROCESS,
          [ATTR_MESSAGING_DESTINATION_NAME]: m.event,
          [ATTR_MESSAGING_MESSAGE_ID]: id
        },
        links: link === undefined ? undefined : [link]
      }, ROOT_CONTEXT)
      try {
        await context.with(trace.setSpan(ROOT_CONTEXT, span), o.handler, undefined, event)
      } catch (err) {
        span.setAttribute(ATTR_ERROR_TYPE, err instanceof Error ? err.name : 'handler_error')
        span.setStatus({ code: SpanStatusCode.ERROR })
        throw new HandlerFailure(err)
      } finally {
        span.end()
      }
      markSeen(id, numeric, seq)
      result.handled++
      return true
    }

    function markSeen (id: string, numeric: boolean, seq: number): void {
      if (numeric) {
        high = seq
      } else if (id !== '') {
        recent.add(id)
        if (recent.size > ID_WINDOW) recent.delete(recent.values().next().value as string)
      }
      if (id !== '') {
        lastId = id
        result.lastEventId = id
      }
    }

    function startConnectionSpan (requestId: string): Span {
      const span = c.tracer.startSpan(what, { kind: SpanKind.CLIENT }, outer)
      if (span.isRecording()) {
        span.setAttribute(ATTR_HTTP_REQUEST_METHOD, 'GET')
        span.setAttribute(ATTR_URL_FULL, url)
        span.setAttribute(ATTR_URL_TEMPLATE, ROUTE_EVENT_STREAM)
        span.setAttribute(ATTR_SERVER_ADDRESS, c.serverAddress)
        span.setAttribute(ATTR_SERVER_PORT, c.serverPort)
        span.setAttribute(ATTR_TENZRO_REQUEST_ID, requestId)
        span.setAttribute(ATTR_TENZRO_STREAM_RECONNECTS, result.reconnects)
      }
      return span
    }

    let lastFailure: TenzroApiError | undefined
    function failed (err: TenzroApiError): void {
      lastFailure = err
      failures++
      if (failures > maxFailures) {
        throw new TenzroApiError({ code: err.code, status: err.status, requestId: err.requestId, retryAfterMs: err.retryAfterMs, details: err.details, attempts: failures, message: `${err.message}; giving up after ${failures} failed connections in a row` })
      }
    }

    while (!stopped()) {
      if (result.connections > 0 || lastFailure !== undefined) result.reconnects++
      const requestId = c.nextRequestId()
      let reservation: number
      try {
        reservation = await acquireSlot(c, Number.POSITIVE_INFINITY, signal, requestId, 1)
      } catch (err) {
        if (stopped()) break
        throw err
      }
      const span = startConnectionSpan(requestId)
      const headers: Record<string, string> = { ...c.authHeaders, accept: 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': requestId }
      // Contract 4.2: the header wins over the query and survives reconnects without changing the URL.
      if (lastId !== undefined) headers['last-event-id'] = lastId
      injectTraceContext(outer, span, headers)
      const sc = span.spanContext()
      const link: Link | undefined = isSpanContextValid(sc) ? { context: sc } : undefined

      const ac = new AbortController()
      const onAbort = () => { ac.abort() }
      signal?.addEventListener('abort', onAbort, { once: true })
      let reading = true // waiting for the headers counts as reading
      let stalled = false
      const watchdog = setTimeout(() => {
        if (!reading) return // the handler is busy: that is our backpressure, not a stall
        stalled = true
        ac.abort()
      }, heartbeatMs)

      let res: Response
      try {
        res = await c.fetch(url, { method: 'GET', headers, signal: ac.signal })
      } catch (err) {
        clearTimeout(watchdog)
        signal?.removeEventListener('abort', onAbort)
        if (stopped()) { endAttempt(span, 0, 'aborted'); break }
        const e = networkError(c, err, requestId, failures + 1, what, false)
        endAttempt(span, 0, stalled ? 'stalled' : e.code)
        if (stalled) result.stalls++
        failed(e)
        const delay = retryDelay(undefined)
        c.logger.warn?.({ requestId, code: e.code, stalled, delayMs: delay }, 'tenzro event stream could not connect; retrying')
        await pause(delay)
        continue
      }

      const status = res.status
      observeRateLimit(c, res.headers, reservation)
      const contentType = res.headers.get('content-type') ?? ''
      if (status !== 200 || !contentType.startsWith('text/event-stream')) {
        clearTimeout(watchdog)
        signal?.removeEventListener('abort', onAbort)
        let text = ''
        try { text = await res.text() } catch { /* the error status is enough */ }
        let retryAfterMs: number | undefined
        if (status === 429 || status === 503) {
          retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), c.now())
          if (retryAfterMs !== undefined) c.throttle.pause(c.now() + retryAfterMs)
        }
        if (status === 200) {
          endAttempt(span, status, 'invalid_response')
          throw new TenzroApiError({ code: 'invalid_response', status, requestId, message: `${what} answered 200 with content type ${JSON.stringify(contentType.slice(0, 64))} instead of text/event-stream (request ${requestId})` })
        }
        const e = errorFromResponse(c, status, text, requestId, retryAfterMs, failures + 1, what)
        endAttempt(span, status, String(status))
        // 429 (too_many_streams, rate_limited) and 5xx are transient; 401/403 (a revoked or wrong key,
        // contract 2.5), 400 and 404 are not, and reconnecting would only hammer the server.
        if (status !== 429 && status < 500) throw e
        failed(e)
        const delay = retryDelay(retryAfterMs)
        c.logger.warn?.({ requestId, status, code: e.code, delayMs: delay }, 'tenzro event stream refused; retrying')
        await pause(delay)
        continue
      }

      endAttempt(span, status, undefined)
      result.connections++
      const parser = createSseParser()
      const out: SseMessage[] = []
      const reader = res.body!.getReader()
      let progressed = false
      let handlerFailure: HandlerFailure | undefined
      let streamError: unknown
      try {
        for (;;) {
          reading = true
          watchdog.refresh()
          const { done, value } = await reader.read()
          reading = false
          if (done) break
          parser.push(value, out)
          if (parser.retryMs !== undefined) reconnectMs = parser.retryMs
          // Backpressure: the events of this chunk are handled one by one, in order, before the next
          // read; `out` never holds more than one chunk's events.
          for (let i = 0; i < out.length; i++) {
            if (await deliver(out[i]!, link)) progressed = true
            if (stopped()) break
          }
          out.length = 0
          if (stopped()) break
        }
      } catch (err) {
        if (err instanceof HandlerFailure) handlerFailure = err
        else streamError = err
      } finally {
        clearTimeout(watchdog)
        signal?.removeEventListener('abort', onAbort)
        // An event whose blank line never came is dropped here, so its id is never used to resume.
        parser.end()
        ac.abort()
      }
      if (handlerFailure !== undefined) throw handlerFailure.error
      if (stopped()) break
      if (progressed) failures = 0
      if (stalled) {
        result.stalls++
        c.logger.warn?.({ requestId, heartbeatTimeoutMs: heartbeatMs, lastEventId: lastId }, 'tenzro event stream stalled (no bytes within the heartbeat timeout); reconnecting')
      }
      const e = stalled
        ? new TenzroApiError({ code: 'timeout', message: `${what} sent nothing for ${heartbeatMs} ms (request ${requestId})`, requestId })
        : streamError === undefined
          ? new TenzroApiError({ code: 'network_error', message: `${what} ended (request ${requestId})`, requestId })
          : networkError(c, streamError, requestId, failures + 1, what, false)
      if (progressed) lastFailure = e
      else failed(e)
      const delay = retryDelay(undefined)
      c.logger.debug?.({ requestId, code: e.code, lastEventId: lastId, delayMs: delay }, 'tenzro event stream ended; reconnecting')
      await pause(delay)
    }
    return result
  }

  return { consume }
}

export type EventsApi = ReturnType<typeof createEvents>
