// A parser of the text/event-stream format, following the WHATWG HTML Living Standard,
// "9.2.6 Interpreting an event stream" (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
// Written here rather than taken from a library so the client controls the one rule that matters
// most for resuming: an event is dispatched only at its blank line, and whatever is pending when the
// stream ends is discarded, so a frame cut mid-way is never delivered (contract 7.2 sse-drop `where`).

export interface SseMessage {
  /** The last event ID string at dispatch (the id of this event, or the last id seen before it). */
  id: string
  /** The `event` field, or 'message' when absent. */
  event: string
  data: string
}

export interface SseParser {
  /** Feed the next chunk of the body; complete events are appended to `out` in order. */
  push (chunk: Uint8Array | string, out: SseMessage[]): void
  /** The stream ended: pending data of an unfinished event is discarded (spec: "Once the end of the file is reached, any pending data must be discarded"). */
  end (): void
  /** The last `retry:` value seen, or undefined. */
  readonly retryMs: number | undefined
  /** Comment lines seen (heartbeats), for diagnostics. */
  readonly comments: number
}

const LF = 10
const CR = 13
const COLON = 58
const SPACE = 32
const RETRY_RE = /^[0-9]+$/

export function createSseParser (): SseParser {
  // "The stream must then be parsed by reading everything line by line ... UTF-8 decode", with one
  // leading BOM ignored: TextDecoder does both (its default ignoreBOM: false strips exactly one BOM at
  // the start of the stream), and `stream: true` keeps a code point split across chunks intact.
  const decoder = new TextDecoder('utf-8')
  let first = true
  let pendingCR = false
  let partial = ''
  let data = ''
  let type = ''
  let idBuffer = ''
  let lastEventId = ''
  let retryMs: number | undefined
  let comments = 0

  function line (l: string, out: SseMessage[]): void {
    // "If the line is empty (a blank line): Dispatch the event."
    if (l.length === 0) {
      // Dispatch step 1: the last event ID string takes the buffer, even if no event fires.
      lastEventId = idBuffer
      // Step 2: "If the data buffer is an empty string, set the data buffer and the event type buffer to the empty string and return."
      if (data.length === 0) { type = ''; return }
      // Step 3: "If the data buffer's last character is a U+000A LINE FEED (LF) character, then remove the last character."
      const d = data.charCodeAt(data.length - 1) === LF ? data.slice(0, -1) : data
      out.push({ id: lastEventId, event: type.length === 0 ? 'message' : type, data: d })
      data = ''
      type = ''
      return
    }
    // "If the line starts with a U+003A COLON character (:): Ignore the line." (comments, heartbeats)
    if (l.charCodeAt(0) === COLON) { comments++; return }
    const colon = l.indexOf(':')
    let field: string
    let value: string
    if (colon === -1) {
      // "Process the field using the whole line as the field name, and the empty string as the field value."
      field = l
      value = ''
    } else {
      field = l.slice(0, colon)
      // "If value starts with a U+0020 SPACE character, remove it from value."
      value = l.charCodeAt(colon + 1) === SPACE ? l.slice(colon + 2) : l.slice(colon + 1)
    }
    switch (field) {
      case 'event':
        type = value
        break
      case 'data':
        data += value + '\n'
        break
      case 'id':
        // "If the field value does not contain U+0000 NULL, then set the last event ID buffer to the field value. Otherwise, ignore the field."
        if (!value.includes('\0')) idBuffer = value
        break
      case 'retry':
        // "If the field value consists of only ASCII digits, then interpret the field value as an integer in base ten, and set the event stream's reconnection time to that integer. Otherwise, ignore the field."
        if (RETRY_RE.test(value)) retryMs = Number(value)
        break
      // "Otherwise: The field is ignored."
    }
  }

  function text (s: string, out: SseMessage[]): void {
    // Lines end with CRLF, LF or CR (spec: "end-of-line = ( cr lf / cr / lf )"). A CR at the end of a
    // chunk may be the first half of a CRLF split across chunks: remember it and skip that LF.
    let start = 0
    const len = s.length
    if (pendingCR) {
      pendingCR = false
      if (len > 0 && s.charCodeAt(0) === LF) start = 1
    }
    for (let i = start; i < len; i++) {
      const c = s.charCodeAt(i)
      if (c !== LF && c !== CR) continue
      const l = partial.length === 0 ? s.slice(start, i) : partial + s.slice(start, i)
      partial = ''
      line(l, out)
      if (c === CR) {
        if (i + 1 < len) {
          if (s.charCodeAt(i + 1) === LF) i++
        } else {
          pendingCR = true
        }
      }
      start = i + 1
    }
    if (start < len) partial += s.slice(start)
  }

  return {
    push (chunk: Uint8Array | string, out: SseMessage[]): void {
      let s: string
      if (typeof chunk === 'string') {
        s = first && chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk
      } else {
        s = decoder.decode(chunk, { stream: true })
      }
      if (s.length > 0) first = false
      text(s, out)
    },
    end (): void {
      partial = ''
      data = ''
      type = ''
      pendingCR = false
    },
    get retryMs () { return retryMs },
    get comments () { return comments }
  }
}
