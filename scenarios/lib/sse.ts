// Server-Sent Events for stock k6, which has no EventSource: the scripts read a whole stream body with
// http.get (the mock closes the stream after N events under an `sse-drop` fault, contract 7.2) and
// parse it here. Pure, so vitest runs it on the same bytes.
//
// The parser follows the WHATWG "event stream interpretation"
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation), as the
// `eventsource` package does; the tracker applies contract 4.3, 4.4 and 4.6 across reconnects.

export interface SseEvent {
  /** The last event ID after this event (the `id:` of this frame, or inherited). */
  id: string
  /** Whether this frame carried its own `id:` line (contract 4.3 says every event does). */
  hasId: boolean
  /** `event:` field, `message` when absent. */
  type: string
  data: string
}

export interface SseParse {
  events: SseEvent[]
  /** What a client sends as Last-Event-ID on the next connection. */
  lastEventId: string
  /** Last valid `retry:` value in ms, if any. */
  retryMs: number | undefined
  /** Comment lines (`: heartbeat`). */
  comments: number
  /** The body ended inside a frame: fields after the last blank line, which the spec discards. */
  truncated: boolean
}

/**
 * Parse a complete SSE body. An event counts only once its blank line arrived; a frame cut by a
 * dropped connection is discarded and does not move the last event ID, exactly as a browser behaves.
 */
export function parseEventStream (body: string, lastEventId = ''): SseParse {
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body
  const lines = text.split(/\r\n|\r|\n/)
  // A final element after the last line terminator is an unterminated line: the stream was cut.
  const unterminated = lines.pop() ?? ''
  const events: SseEvent[] = []
  let data = ''
  let type = ''
  let idBuffer = lastEventId
  let lastId = lastEventId
  let retryMs: number | undefined
  let comments = 0
  let hasId = false
  let pending = unterminated !== ''

  for (const line of lines) {
    if (line === '') {
      // Dispatch: the last event ID is set even when the data buffer is empty.
      lastId = idBuffer
      if (data !== '') {
        events.push({ id: lastId, hasId, type: type === '' ? 'message' : type, data: data.slice(0, -1) })
      }
      data = ''
      type = ''
      hasId = false
      pending = false
      continue
    }
    if (line.charCodeAt(0) === 58 /* : */) { comments++; continue }
    pending = true
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32) value = value.slice(1)
    switch (field) {
      case 'event': type = value; break
      case 'data': data += value + '\n'; break
      case 'id': if (value.indexOf('\u0000') === -1) { idBuffer = value; hasId = true } break
      case 'retry': if (/^\d+$/.test(value)) retryMs = Number(value); break
      default: break
    }
  }
  return { events, lastEventId: lastId, retryMs, comments, truncated: pending }
}

export interface EventCheck {
  /** Events delivered for the first time. */
  fresh: number
  /** Events whose id was already delivered on this or an earlier connection (4.6). */
  duplicates: number
  /** New ids lower than one already delivered: reordering at a resume (4.4). */
  outOfOrder: number
  /** Events the server announced as lost with `stream.gap` (4.4). */
  announcedLost: number
  /** Frames that break the framing of 4.3 (non-numeric id, data not JSON, id/type mismatch). */
  malformed: string[]
}

/**
 * Follows one logical stream across reconnects. `expected` are the sequences the scenario published
 * and must see; other events of the tenant (the background generator) are accepted, never required.
 */
export function createStreamTracker (expected: Iterable<number> = []) {
  const want = new Set<number>(expected)
  const seen = new Set<number>()
  let highest = 0
  const totals: EventCheck = { fresh: 0, duplicates: 0, outOfOrder: 0, announcedLost: 0, malformed: [] }

  function accept (events: SseEvent[]): EventCheck {
    const r: EventCheck = { fresh: 0, duplicates: 0, outOfOrder: 0, announcedLost: 0, malformed: [] }
    for (const e of events) {
      if (e.type === 'stream.gap') {
        const gap = parseJson(e.data)
        const from = gap?.from
        const to = gap?.to
        if (typeof from === 'number' && typeof to === 'number' && to >= from) r.announcedLost += to - from + 1
        else r.malformed.push(`stream.gap data is not {"from":n,"to":m}: ${e.data.slice(0, 80)}`)
        continue
      }
      if (!e.hasId) { r.malformed.push(`a ${e.type} event without its own id: line (4.3)`); continue }
      if (!/^\d+$/.test(e.id)) { r.malformed.push(`event id ${JSON.stringify(e.id)} is not a sequence number (4.3)`); continue }
      const seq = Number(e.id)
      const payload = parseJson(e.data)
      if (payload === undefined) r.malformed.push(`event ${seq}: data is not a JSON object (4.3)`)
      else if (payload.id !== `evt_${seq}` || payload.type !== e.type) r.malformed.push(`event ${seq}: data.id/type do not match id:/event: (4.3)`)
      if (seen.has(seq)) { r.duplicates++; continue }
      if (seq < highest) r.outOfOrder++
      seen.add(seq)
      if (seq > highest) highest = seq
      r.fresh++
    }
    totals.fresh += r.fresh
    totals.duplicates += r.duplicates
    totals.outOfOrder += r.outOfOrder
    totals.announcedLost += r.announcedLost
    for (const m of r.malformed) totals.malformed.push(m)
    return r
  }

  return {
    accept,
    /** Expected sequences not delivered (yet). */
    missing (): number[] {
      const out: number[] = []
      for (const s of want) if (!seen.has(s)) out.push(s)
      return out.sort((a, b) => a - b)
    },
    delivered (seq: number): boolean {
      return seen.has(seq)
    },
    totals (): EventCheck {
      return { ...totals, malformed: totals.malformed.slice() }
    }
  }
}

export type StreamTracker = ReturnType<typeof createStreamTracker>

function parseJson (s: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(s)
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}
