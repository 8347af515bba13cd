// A Tenzro client written the way integrations are written in the wild: plain fetch, its own SSE
// reader, its own retry loop. Every habit the harness judges is a knob, and the defaults are the good
// habits, so `good-fetch.ts` (all defaults) must pass every check while each other example flips one
// knob and must fail exactly the checks that habit breaks (examples/clients/README.md).
// It reads only TENZRO_API_URL, TENZRO_API_KEY, TENZRO_TENANT_ID, OTEL_EXPORTER_OTLP_ENDPOINT and the
// optional TENZRO_HEARTBEAT_TIMEOUT_MS, and runs until SIGTERM.
import { randomUUID } from 'node:crypto'
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api'
import { log, readEnv, sleep, stopSignal } from './env.ts'
import { startTracing } from './tracing.ts'

export interface NaiveOptions {
  /** Puts the key in the query string too (`?api_key=`), as some SDKs once did (contract 1.2 says headers only). */
  keyInUrl: boolean
  /** Logs its configuration, key included, at start. */
  logsKey: boolean
  /** Waits out Retry-After on 429 (the whole key) and 503 (that route), and X-RateLimit-Reset once X-RateLimit-Remaining is 0 (contract 5.2, 5.3). */
  honoursRetryAfter: boolean
  /** Wait between retries of a failed request: none, a fixed 200 ms, exponential from 200 ms, or that with full jitter. */
  backoff: 'none' | 'fixed' | 'exp' | 'exp-jitter'
  /** Retries per logical request after the first attempt; Infinity retries forever. */
  maxRetries: number
  /** Names each logical request with X-Request-Id, the same on its retries (contract 1.2). */
  requestIds: boolean
  /** Resumes the event stream with Last-Event-ID (contract 4.2, 4.4). */
  sendsLastEventId: boolean
  /** Reconnect delay after a drop: the server's `retry:` (contract 4.3), or a fixed number of ms. */
  reconnect: 'retry-field' | number
  /** No byte for this long means the stream stalled: reconnect. null waits forever. Default: TENZRO_HEARTBEAT_TIMEOUT_MS or 2.5 heartbeats. */
  stallTimeoutMs: number | null
  /** Lists every wallet again after `event: stream.gap` (contract 4.4). */
  resyncOnGap: boolean
  /** X-Idempotency-Key on creates: none, a new one per attempt, or one per logical create reused on retries (contract 6.1). */
  idempotencyKey: 'none' | 'per-attempt' | 'per-operation'
  /** Processes each event id once, skipping what a resumed stream sends again (contract 4.6). */
  dedupesEvents: boolean
  /** On 401/403: stop every loop (a refused key does not come back), or carry on as if nothing happened. */
  on401: 'stop' | 'continue'
  /** Which loops run: list wallets every `listEveryMs`, create one every `createEveryMs`, consume the event stream. */
  parts: { list: boolean, create: boolean, events: boolean }
  /** Pause between two polls of the wallet list. */
  listEveryMs: number
  /** Pause between two creates. */
  createEveryMs: number
  /** Random extra wait, 0..this, on every reconnect of the stream (as EventSource libraries and backoff guides add). */
  reconnectJitterMs: number
  /** Time spent processing each event, inline: the stream is not read meanwhile (a slow consumer). */
  eventProcessingMs: number
}

export const GOOD_DEFAULTS: Readonly<NaiveOptions> = Object.freeze({
  keyInUrl: false,
  logsKey: false,
  honoursRetryAfter: true,
  backoff: 'exp-jitter',
  maxRetries: 4,
  requestIds: true,
  sendsLastEventId: true,
  reconnect: 'retry-field',
  stallTimeoutMs: Number(process.env.TENZRO_HEARTBEAT_TIMEOUT_MS ?? 37_500),
  resyncOnGap: true,
  idempotencyKey: 'per-operation',
  dedupesEvents: true,
  on401: 'stop',
  parts: { list: true, create: true, events: true },
  listEveryMs: 200,
  createEveryMs: 1000,
  reconnectJitterMs: 0,
  eventProcessingMs: 0
})

const BACKOFF_BASE_MS = 200
const BACKOFF_CAP_MS = 1000
const ATTEMPT_TIMEOUT_MS = 10_000
const LIST = '/api/wallet/list'
const CREATE = '/api/wallet/create'
const STREAM = '/api/events/stream'

class Refused extends Error {}
class Failed extends Error {
  readonly status: number
  constructor (message: string, status: number) { super(message); this.status = status }
}

interface Answer { status: number, body: { data?: unknown, meta?: { cursor?: string | null, hasMore?: boolean } } }

export async function runNaiveClient (name: string, overrides: Partial<NaiveOptions> = {}): Promise<void> {
  const o: NaiveOptions = { ...GOOD_DEFAULTS, ...overrides, parts: { ...GOOD_DEFAULTS.parts, ...overrides.parts } }
  const env = readEnv()
  const stopTracing = await startTracing(`tenzro-example-${name}`)
  const tracer = trace.getTracer('tenzro-example-naive')
  const signal = stopSignal()
  const refused = new AbortController()
  const stop = AbortSignal.any([signal, refused.signal])
  // SIGTERM is the only way out: keep the process alive even when every loop has stopped (after a 401).
  const keepAlive = setInterval(() => {}, 1 << 30)

  if (o.logsKey) log('info', 'starting', { client: name, baseUrl: env.baseUrl, apiKey: env.apiKey, tenantId: env.tenantId })
  else log('info', 'starting', { client: name, baseUrl: env.baseUrl, tenantId: env.tenantId })

  const base = env.baseUrl.replace(/\/+$/, '')
  const urlOf = (path: string) => {
    if (!o.keyInUrl) return base + path
    return base + path + (path.includes('?') ? '&' : '?') + 'api_key=' + encodeURIComponent(env.apiKey)
  }
  const authHeaders = { 'x-api-key': env.apiKey, 'x-tenant-id': env.tenantId }

  // Retry-After (contract 5.3): a 429 pauses the whole key, a 503 the route that answered it.
  const pausedUntil = new Map<string, number>()
  function pause (scope: string, untilMs: number): void {
    if ((pausedUntil.get(scope) ?? 0) < untilMs) pausedUntil.set(scope, untilMs)
  }
  async function waitPause (route: string): Promise<void> {
    for (;;) {
      const until = Math.max(pausedUntil.get('*') ?? 0, pausedUntil.get(route) ?? 0)
      const ms = until - Date.now()
      if (ms <= 0 || stop.aborted) return
      await sleep(ms, stop)
    }
  }
  function observe (route: string, res: Response): number | undefined {
    // X-RateLimit-Remaining 0: nothing more until X-RateLimit-Reset (contract 5.2). A client that
    // ignores Retry-After ignores this too: both are the server asking it to wait.
    const remaining = res.headers.get('x-ratelimit-remaining')
    const reset = Number(res.headers.get('x-ratelimit-reset'))
    if (o.honoursRetryAfter && remaining === '0' && Number.isFinite(reset)) pause('*', reset * 1000)
    const ra = res.headers.get('retry-after')
    if ((res.status !== 429 && res.status !== 503) || ra === null || !/^\d+$/.test(ra.trim())) return undefined
    const ms = Number(ra.trim()) * 1000
    if (o.honoursRetryAfter) pause(res.status === 429 ? '*' : route, Date.now() + ms)
    return ms
  }

  function backoffMs (retry: number): number {
    const exp = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(retry, 20))
    switch (o.backoff) {
      case 'none': return 0
      case 'fixed': return BACKOFF_BASE_MS
      case 'exp': return exp
      case 'exp-jitter': return Math.floor(Math.random() * exp)
    }
  }

  function refusedKey (what: string, status: number, code: string): Refused {
    if (o.on401 === 'stop') {
      log('error', `${what}: key refused (${status} ${code}); stopping`)
      refused.abort()
    }
    return new Refused(`${what}: key refused (${status} ${code})`)
  }

  /** One logical request: attempts until success, a refusal, a non-retryable answer or the retry cap. */
  async function call (method: 'GET' | 'POST', route: string, path: string, body?: unknown): Promise<Answer> {
    const requestId = o.requestIds ? `naive-${randomUUID()}` : undefined
    let idempotencyKey = o.idempotencyKey === 'per-operation' ? randomUUID() : undefined
    const what = `${method} ${route}`
    for (let attempt = 0; ; attempt++) {
      await waitPause(route)
      if (stop.aborted) throw new Refused('stopped')
      if (method === 'POST' && o.idempotencyKey === 'per-attempt') idempotencyKey = randomUUID()
      const headers: Record<string, string> = { ...authHeaders, accept: 'application/json' }
      if (requestId !== undefined) headers['x-request-id'] = requestId
      if (body !== undefined) headers['content-type'] = 'application/json'
      if (method === 'POST' && idempotencyKey !== undefined) headers['x-idempotency-key'] = idempotencyKey
      let status = 0
      let code: string
      let retryAfterMs: number | undefined
      try {
        const res = await fetch(urlOf(path), {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.any([stop, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)])
        })
        status = res.status
        retryAfterMs = observe(route, res)
        const text = await res.text()
        let json: Answer['body'] & { error?: { code?: string } } = {}
        try { json = JSON.parse(text) as typeof json } catch { /* not JSON: judged by status */ }
        if (status >= 200 && status < 300) return { status, body: json }
        code = json.error?.code ?? String(status)
      } catch (err) {
        if (stop.aborted) throw new Refused('stopped')
        code = (err as Error).name === 'TimeoutError' ? 'timeout' : 'network_error'
      }
      if (status === 401 || status === 403) throw refusedKey(what, status, code)
      const retryable = status === 0 || status === 429 || status >= 500 || (status === 409 && code === 'idempotency_in_progress')
      if (!retryable) throw new Failed(`${what} answered ${status} ${code}`, status)
      if (attempt >= o.maxRetries) throw new Failed(`${what} failed after ${attempt + 1} attempts (${status} ${code})`, status)
      // With Retry-After honoured, waitPause() above does the waiting; the backoff comes on top only without it.
      const delay = retryAfterMs !== undefined && o.honoursRetryAfter ? 0 : backoffMs(attempt)
      log('warn', 'request failed; retrying', { requestId, route, status, code, attempt: attempt + 1, delayMs: delay })
      await sleep(delay, stop)
    }
  }

  function failed (what: string, err: unknown): void {
    if (err instanceof Refused || stop.aborted) return
    log('warn', `${what} failed`, { error: (err as Error).message })
  }

  async function resync (): Promise<void> {
    let cursor: string | null | undefined
    let n = 0
    do {
      const q = cursor === undefined || cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`
      const page = await call('GET', LIST, `${LIST}?limit=100${q}`)
      n += Array.isArray(page.body.data) ? page.body.data.length : 0
      cursor = page.body.meta?.hasMore === true ? page.body.meta.cursor : null
    } while (cursor !== null && cursor !== undefined && !stop.aborted)
    log('info', 'resynchronised', { wallets: n })
  }

  async function listLoop (): Promise<void> {
    while (!stop.aborted) {
      try {
        const page = await call('GET', LIST, `${LIST}?limit=20`)
        log('info', 'listed wallets', { count: Array.isArray(page.body.data) ? page.body.data.length : 0 })
      } catch (err) { failed('list', err) }
      await sleep(o.listEveryMs, stop)
    }
  }

  async function createLoop (): Promise<void> {
    for (let i = 1; !stop.aborted; i++) {
      try {
        const r = await call('POST', CREATE, CREATE, { name: `${name} ${i}`, type: 'mpc', chain: 'ethereum' })
        log('info', 'created wallet', { id: (r.body.data as { id?: string } | undefined)?.id })
      } catch (err) { failed('create', err) }
      await sleep(o.createEveryMs, stop)
    }
  }

  async function eventLoop (): Promise<void> {
    // The last event ID string (WHATWG HTML 9.2.6): set when an event is dispatched, never from the
    // `id:` line of an event whose blank line did not arrive.
    let lastId: string | undefined
    let high = -1
    let reconnectMs = 1000
    let failures = 0
    let pendingResync: Promise<void> | undefined
    const stats = { events: 0, duplicates: 0, gaps: 0, stalls: 0, connections: 0 }

    function dispatch (id: string, type: string, data: string): void {
      if (id !== '') lastId = id
      const seq = /^\d+$/.test(id) ? Number(id) : Number.NaN
      if (type === 'stream.gap') {
        stats.gaps++
        if (!Number.isNaN(seq)) high = Math.max(high, seq)
        log('warn', 'events lost', { gap: data })
        if (o.resyncOnGap && pendingResync === undefined) {
          // Resync beside the stream, so a slow or failing list does not stall the events.
          pendingResync = resync().catch((err) => failed('resync', err)).finally(() => { pendingResync = undefined })
        }
        return
      }
      if (o.dedupesEvents && !Number.isNaN(seq) && seq <= high) { stats.duplicates++; return }
      if (!Number.isNaN(seq)) high = Math.max(high, seq)
      const span = tracer.startSpan(`process ${type}`, {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'tenzro',
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          'messaging.destination.name': type,
          'messaging.message.id': id
        }
      }, ROOT_CONTEXT)
      span.end()
      stats.events++
    }

    while (!stop.aborted) {
      await waitPause(STREAM)
      if (stop.aborted) break
      const headers: Record<string, string> = { ...authHeaders, accept: 'text/event-stream', 'cache-control': 'no-cache' }
      if (o.requestIds) headers['x-request-id'] = `naive-${randomUUID()}`
      if (o.sendsLastEventId && lastId !== undefined) headers['last-event-id'] = lastId
      const ac = new AbortController()
      const onStop = () => ac.abort()
      stop.addEventListener('abort', onStop, { once: true })
      let stalled = false
      const watchdog = o.stallTimeoutMs === null ? undefined : setTimeout(() => { stalled = true; ac.abort() }, o.stallTimeoutMs)
      let retryAfterMs: number | undefined
      let progressed = false
      try {
        const res = await fetch(urlOf(STREAM), { headers, signal: ac.signal })
        retryAfterMs = observe(STREAM, res)
        if (res.status === 401 || res.status === 403) {
          await res.body?.cancel()
          throw refusedKey(`GET ${STREAM}`, res.status, String(res.status))
        }
        if (res.status !== 200 || res.body === null) {
          await res.body?.cancel()
          throw new Failed(`GET ${STREAM} answered ${res.status}`, res.status)
        }
        stats.connections++
        const decoder = new TextDecoder()
        let buf = ''
        let id = lastId ?? ''
        let type = ''
        let data: string[] = []
        for await (const chunk of res.body) {
          watchdog?.refresh()
          buf += decoder.decode(chunk as Uint8Array, { stream: true })
          // Lines end in CRLF, LF or CR (9.2.6); a trailing CR may be the first half of a CRLF.
          let m: RegExpExecArray | null
          while ((m = /\r\n|\n|\r(?!$)/.exec(buf)) !== null) {
            const line = buf.slice(0, m.index)
            buf = buf.slice(m.index + m[0].length)
            if (line === '') {
              if (data.length > 0 || type !== '') {
                dispatch(id, type === '' ? 'message' : type, data.join('\n'))
                progressed = true
                if (o.eventProcessingMs > 0 && type !== 'stream.gap') {
                  await sleep(o.eventProcessingMs, stop)
                  // Working through received events is proof the stream is alive: only silence counts as a stall.
                  watchdog?.refresh()
                }
              }
              type = ''
              data = []
              continue
            }
            if (line.startsWith(':')) continue
            const colon = line.indexOf(':')
            const field = colon === -1 ? line : line.slice(0, colon)
            let value = colon === -1 ? '' : line.slice(colon + 1)
            if (value.startsWith(' ')) value = value.slice(1)
            if (field === 'id' && !value.includes('\0')) id = value
            else if (field === 'event') type = value
            else if (field === 'data') data.push(value)
            else if (field === 'retry' && /^\d+$/.test(value) && o.reconnect === 'retry-field') reconnectMs = Number(value)
          }
        }
      } catch (err) {
        if (err instanceof Refused) {
          if (o.on401 === 'stop') break
        } else if (!stop.aborted && !stalled && !(err instanceof Failed)) {
          log('warn', 'event stream broke', { error: (err as Error).message })
        }
      } finally {
        if (watchdog !== undefined) clearTimeout(watchdog)
        stop.removeEventListener('abort', onStop)
      }
      if (stop.aborted) break
      if (stalled) { stats.stalls++; log('warn', 'event stream stalled; reconnecting', { lastEventId: lastId }) }
      failures = progressed ? 0 : failures + 1
      // The first reconnect waits the reconnection time; repeated failures back off on top of it.
      const base = o.reconnect === 'retry-field' ? reconnectMs : o.reconnect
      let delay = failures <= 1 ? base : Math.max(base, backoffMs(failures - 2))
      if (retryAfterMs !== undefined && o.honoursRetryAfter) delay = Math.max(delay, retryAfterMs)
      await sleep(delay + Math.floor(Math.random() * o.reconnectJitterMs), stop)
    }
    log('info', 'event stream closed', stats)
  }

  await Promise.all([
    o.parts.list ? listLoop() : undefined,
    o.parts.create ? createLoop() : undefined,
    o.parts.events ? eventLoop() : undefined
  ])
  if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
  clearInterval(keepAlive)
  await stopTracing()
}
