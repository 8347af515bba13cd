// Reading the event stream with stock k6 (no EventSource): each connection is one http.get that
// returns when the server ends the stream, which the mock does after N events under an `sse-drop`
// fault (contract 7.2). Between connections the script behaves like a browser EventSource: it waits
// the server's `retry:` and reconnects to the same URL with Last-Event-ID (contract 4.2, 4.3).
import { check, sleep } from 'k6'
import { openStream } from './api.ts'
import type { Credentials, Target } from './api.ts'
import { sseDuplicates, sseEvents, sseGaps, sseOutOfOrder, sseReconnects } from './metrics.ts'
import { header, parseRetryAfter } from './rate-limit.ts'
import { createStreamTracker, parseEventStream } from './sse.ts'
import type { EventCheck } from './sse.ts'

export interface ReadOptions {
  subjects: string | undefined
  /** The first connection resumes after this sequence (`last_event_id`, contract 4.4). */
  startAfter: number
  /** Sequences that must arrive. */
  expected: number[]
  /** Per connection; the server should end the stream well before. */
  timeoutMs: number
  maxConnections: number
  /** Overrides the server's `retry:` between connections (0 hammers: a reconnect storm). */
  reconnectDelayMs: number | undefined
  /** The tenant's id and slug: each event's data.tenantId must be one of them (contract 3.4, 4.3). */
  tenantIds: string[]
}

export interface ReadResult {
  connections: number
  reconnects: number
  statuses: number[]
  totals: EventCheck
  missing: number[]
  lastEventId: string
}

export function readWithReconnects (t: Target, cred: Credentials, o: ReadOptions): ReadResult {
  const tracker = createStreamTracker(o.expected)
  const statuses: number[] = []
  let lastEventId = String(o.startAfter)
  let delayMs = o.reconnectDelayMs ?? 1000
  let connections = 0
  let reconnects = 0
  while (connections < o.maxConnections && tracker.missing().length > 0) {
    if (connections > 0) {
      reconnects++
      sseReconnects.add(1)
      if (delayMs > 0) sleep(delayMs / 1000)
    }
    connections++
    const res = openStream(t, cred, {
      subjects: o.subjects,
      // EventSource keeps its URL and sends the header; the header wins (contract 4.2).
      lastEventIdQuery: String(o.startAfter),
      lastEventIdHeader: connections > 1 ? lastEventId : undefined,
      timeoutMs: o.timeoutMs,
      // 0: the server cut the stream (sse-drop) or the client timeout did, as intended; see readStream.
      expected: [0, 200, 429]
    })
    statuses.push(res.status)
    const read = readStream(res)
    if (read.kind === 'refused') {
      // too_many_streams (contract 5.5) or the key's window: wait as told, then reconnect.
      sleep(parseRetryAfter(header(res.headers, 'Retry-After')) ?? 1)
      continue
    }
    if (read.kind === 'failed') {
      console.warn(`event stream: ${read.why}`)
      check(res, { 'the event stream answers 200 text/event-stream (contract 4.1)': () => false })
      continue
    }
    const body = read.body
    const parsed = parseEventStream(body, lastEventId)
    if (o.reconnectDelayMs === undefined && parsed.retryMs !== undefined) delayMs = parsed.retryMs
    const r = tracker.accept(parsed.events)
    check(res, {
      // Headers exist only when the server ended the body cleanly; a cut stream keeps its body only.
      'the event stream answers 200 text/event-stream (contract 4.1)': (x) => x.status === 0 || (x.status === 200 && /^text\/event-stream/.test(header(x.headers, 'Content-Type') ?? '')),
      'the stream opens with retry: <ms> (contract 4.3)': () => opensWithRetry(body),
      'every frame has a numeric id:, event: and JSON data of the tenant (contract 4.3)': () => r.malformed.length === 0 && parsed.events.every((e) => e.type === 'stream.gap' || o.tenantIds.includes(tenantOf(e.data) as string)),
      'no event is delivered twice across reconnects (contract 4.4, 4.6)': () => r.duplicates === 0,
      'events arrive in sequence order across reconnects (contract 4.4)': () => r.outOfOrder === 0
    })
    for (const m of r.malformed.slice(0, 3)) console.warn(`event stream: ${m}`)
    sseEvents.add(parsed.events.filter((e) => e.type !== 'stream.gap').length)
    sseDuplicates.add(r.duplicates)
    sseOutOfOrder.add(r.outOfOrder)
    if (r.announcedLost > 0) sseGaps.add(r.announcedLost)
    if (parsed.lastEventId !== '') lastEventId = parsed.lastEventId
  }
  const missing = tracker.missing()
  if (missing.length > 0) sseGaps.add(missing.length)
  return { connections, reconnects, statuses, totals: tracker.totals(), missing, lastEventId }
}

export type StreamRead =
  | { kind: 'read', body: string, cut: boolean }
  | { kind: 'refused' }
  | { kind: 'failed', why: string }

/**
 * What one stream request gave. k6 keeps the body it read when the connection ends mid-body (the
 * mock's sse-drop destroys the socket; a client timeout does the same) but then reports status 0 and
 * no headers, and logs "Request Failed": for a stream that is the expected end, not a failure.
 */
export function readStream (res: { status: number, body: unknown, error: string }): StreamRead {
  const body = typeof res.body === 'string' ? res.body : ''
  if (res.status === 429) return { kind: 'refused' }
  if (res.status === 200) return { kind: 'read', body, cut: false }
  if (res.status === 0 && opensWithRetry(body)) return { kind: 'read', body, cut: true }
  if (res.status === 0) return { kind: 'failed', why: `no stream (${res.error || 'connection failed'}); is BASE_URL up and the key allowed events:read?` }
  return { kind: 'failed', why: `the stream answered ${res.status}` }
}

/** Contract 4.3: the stream opens with `retry: <ms>`. */
export function opensWithRetry (body: string): boolean {
  return /^(\ufeff)?retry: ?\d+\r?\n/.test(body)
}

function tenantOf (data: string): unknown {
  try {
    return (JSON.parse(data) as { tenantId?: unknown }).tenantId
  } catch {
    return undefined
  }
}

/** The sequence of an event stored through POST /__harness/events (contract 7.4). */
export function sequenceOf (data: unknown): number | undefined {
  const d = data as { sequence?: unknown, seq?: unknown, id?: unknown } | undefined
  if (typeof d?.sequence === 'number' && Number.isInteger(d.sequence)) return d.sequence
  if (typeof d?.seq === 'number' && Number.isInteger(d.seq)) return d.seq
  if (typeof d?.id === 'string' && /^evt_\d+$/.test(d.id)) return Number(d.id.slice(4))
  return undefined
}
