// A raw SSE reader over node:http for the event-stream tests: it keeps every byte, so tests can see
// `retry:`, heartbeats, half-written frames and how the connection ended, which a spec-following
// client (the `eventsource` package, used in events-client.test.ts) deliberately hides.
import { request, type IncomingHttpHeaders } from 'node:http'

export interface SseBlock {
  id?: string
  event?: string
  data?: string
  retry?: string
  comment?: string
}

export interface RawStream {
  status: number
  headers: IncomingHttpHeaders
  /** Every byte received so far, as text. */
  text (): string
  /** Complete blocks (terminated by a blank line), parsed field by field. */
  blocks (): SseBlock[]
  /** Complete event blocks (those with data), in order. */
  events (): SseBlock[]
  /** Resolves when `pred` holds, checked on every chunk; rejects after timeoutMs. */
  waitFor (pred: (s: RawStream) => boolean, timeoutMs?: number, what?: string): Promise<void>
  /** 'end': the response ended cleanly; 'aborted': the connection was cut mid-response. */
  ended: Promise<'end' | 'aborted'>
  /** Parsed JSON body for a non-200 answer. */
  json (): Promise<unknown>
  close (): void
}

export function parseBlocks (text: string): SseBlock[] {
  const out: SseBlock[] = []
  const parts = text.split('\n\n')
  parts.pop() // the unfinished tail
  for (const part of parts) {
    if (part === '') continue
    const b: SseBlock = {}
    for (const line of part.split('\n')) {
      if (line.startsWith(':')) { b.comment = line.slice(1).trim(); continue }
      const i = line.indexOf(':')
      const field = i === -1 ? line : line.slice(0, i)
      const value = i === -1 ? '' : line.slice(i + 1).replace(/^ /, '')
      if (field === 'id' || field === 'event' || field === 'retry') b[field] = value
      else if (field === 'data') b.data = b.data === undefined ? value : b.data + '\n' + value
    }
    out.push(b)
  }
  return out
}

export function openRaw (url: string, headers: Record<string, string> = {}): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } })
    req.on('error', reject)
    req.on('response', (res) => {
      let text = ''
      const watchers = new Set<() => void>()
      const ended = new Promise<'end' | 'aborted'>((resolveEnd) => {
        res.on('end', () => resolveEnd('end'))
        res.on('aborted', () => resolveEnd('aborted'))
        res.on('error', () => resolveEnd('aborted'))
        res.on('close', () => { if (!res.complete) resolveEnd('aborted'); for (const w of watchers) w() })
      })
      res.setEncoding('utf8')
      const stream: RawStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        text: () => text,
        blocks: () => parseBlocks(text),
        events: () => parseBlocks(text).filter((b) => b.data !== undefined),
        waitFor (pred, timeoutMs = 5000, what = 'condition') {
          if (pred(stream)) return Promise.resolve()
          return new Promise<void>((resolveWait, rejectWait) => {
            const check = () => {
              if (pred(stream)) { cleanup(); resolveWait() } else if (res.closed) { cleanup(); rejectWait(new Error(`stream closed before ${what}; got:\n${text.slice(-2000)}`)) }
            }
            const t = setTimeout(() => { cleanup(); rejectWait(new Error(`timed out waiting for ${what}; got:\n${text.slice(-2000)}`)) }, timeoutMs)
            const cleanup = () => { clearTimeout(t); watchers.delete(check) }
            watchers.add(check)
          })
        },
        ended,
        async json () {
          await ended
          return JSON.parse(text)
        },
        close () { req.destroy() }
      }
      res.on('data', (chunk: string) => {
        text += chunk
        for (const w of [...watchers]) w()
      })
      resolve(stream)
    })
    req.end()
  })
}

export interface EsReceived {
  type: string
  id: string
  data: string
}

/**
 * The independent, spec-following client of the acceptance tests: the `eventsource` package with a
 * custom fetch that adds the tenant headers (contract 1.2). Listens for each of `types` and for
 * stream.gap; records opens and errors with the time they happened.
 */
export async function openEventSource (url: string, k: { key: string, tenantId: string }, types: readonly string[]) {
  const { EventSource } = await import('eventsource')
  const received: EsReceived[] = []
  const opens: number[] = []
  const errors: Array<{ at: number, code: number | undefined, message: string | undefined }> = []
  const sentLastEventIds: Array<string | null> = []
  const watchers = new Set<() => void>()
  const es = new EventSource(url, {
    fetch: (input, init) => {
      const headers = { ...init.headers, 'X-API-Key': k.key, 'X-Tenant-Id': k.tenantId }
      sentLastEventIds.push((init.headers as Record<string, string>)['Last-Event-ID'] ?? null)
      return fetch(input, { ...init, headers })
    }
  })
  const onEvent = (ev: MessageEvent) => {
    received.push({ type: ev.type, id: ev.lastEventId, data: String(ev.data) })
    for (const w of [...watchers]) w()
  }
  for (const t of [...types, 'stream.gap']) es.addEventListener(t, onEvent as (ev: Event) => void)
  es.addEventListener('open', () => { opens.push(performance.now()); for (const w of [...watchers]) w() })
  es.addEventListener('error', (ev) => {
    const e = ev as Event & { code?: number, message?: string }
    errors.push({ at: performance.now(), code: e.code, message: e.message })
    for (const w of [...watchers]) w()
  })
  return {
    es,
    received,
    opens,
    errors,
    /** The Last-Event-ID header of each connection attempt (null when none was sent). */
    sentLastEventIds,
    waitFor (pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
      if (pred()) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const check = () => { if (pred()) { done(); resolve() } }
        const t = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${what}: ${received.length} events, ${opens.length} opens, errors ${JSON.stringify(errors.slice(-3))}`)) }, timeoutMs)
        const done = () => { clearTimeout(t); watchers.delete(check) }
        watchers.add(check)
      })
    },
    close () { es.close() }
  }
}
