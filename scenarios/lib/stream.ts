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
      expected: [200, 429]
    })
    statuses.push(res.status)
    if (res.status === 0) {
      console.warn(`event stream: no complete response within ${o.timeoutMs} ms (${res.error}). Stock k6 only sees a stream the server ends: is the sse-drop fault installed (CONTROL_URL)?`)
      check(res, { 'the server ends a dropped stream before the client timeout (contract 7.2)': () => false })
      continue
    }
    if (res.status === 429) {
      // too_many_streams (contract 5.5) or the key's window: wait as told, then reconnect.
      sleep(parseRetryAfter(header(res.headers, 'Retry-After')) ?? 1)
      continue
    }
    const body = typeof res.body === 'string' ? res.body : ''
    const parsed = parseEventStream(body, lastEventId)
    if (o.reconnectDelayMs === undefined && parsed.retryMs !== undefined) delayMs = parsed.retryMs
    const r = tracker.accept(parsed.events)
    check(res, {
      'the event stream answers 200 text/event-stream (contract 4.1)': (x) => x.status === 200 && /^text\/event-stream/.test(header(x.headers, 'Content-Type') ?? ''),
      'the stream opens with retry: <ms> (contract 4.3)': () => /^(\ufeff)?retry: ?\d+\r?\n/.test(body),
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
