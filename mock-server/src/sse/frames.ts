// SSE framing (WHATWG HTML, "Server-sent events", 9.2.6 interpreting an event stream) for the frames of
// contract 4.3. Each event's frame is serialised once and the same Buffer is written to every stream
// that carries it (a WeakMap keyed by the stored event, so a frame lives exactly as long as the event
// is retained by the log or held by a stream).
import type { StoredEvent } from '../domain/event-log/types.ts'

/** `: heartbeat` comment (4.3). Lines starting with a colon are ignored by clients (9.2.6). */
export const HEARTBEAT = Buffer.from(': heartbeat\n\n')

const frames = new WeakMap<StoredEvent, Buffer>()

/** The event's JSON body (4.3): `{"id":"evt_<seq>","type":...,"tenantId":...,"timestamp":...,"data":...}`. */
export function eventBody (e: StoredEvent) {
  return { id: `evt_${e.seq}`, type: e.subject, tenantId: e.tenantId, timestamp: new Date(e.publishedAtMs).toISOString(), data: e.data }
}

/**
 * `id: <seq>\nevent: <subject>\ndata: <json>\n\n`. JSON.stringify never emits a raw line break, so the
 * body is always one `data:` line. Never throws: an event whose data cannot be serialised (nested past
 * the stack, a BigInt, a cycle: the public and control APIs refuse such data, a backend might not)
 * gives undefined, and the stream sends a gap for its id instead (contract 4.4).
 */
export function frameOf (e: StoredEvent): Buffer | undefined {
  let f = frames.get(e)
  if (f === undefined) {
    let json: string
    try {
      json = JSON.stringify(eventBody(e))
    } catch {
      return undefined
    }
    f = Buffer.from(`id: ${e.seq}\nevent: ${e.subject}\ndata: ${json}\n\n`)
    frames.set(e, f)
  }
  return f
}

/**
 * The start of a frame, for a drop in the middle of one (fault sse-drop, contract 7.2):
 * `after-id` stops after the `id:` and `event:` lines, before `data:`; `before-blank` stops after the
 * `data:` line, before the blank line that would dispatch it. A spec-following client discards the
 * unfinished event and does not take its id as the last event id (9.2.6: the id is committed when the
 * event is dispatched).
 */
export function partialFrame (frame: Buffer, where: 'after-id' | 'before-blank'): Buffer {
  if (where === 'before-blank') return frame.subarray(0, frame.length - 1)
  return frame.subarray(0, frame.indexOf('data:'))
}

/** `retry: <ms>` (9.2.6: sets the reconnection time), sent first on every stream (4.3). */
export function retryFrame (ms: number): Buffer {
  return Buffer.from(`retry: ${ms}\n\n`)
}

/**
 * The gap signal of contract 4.4. It carries `id: <to>` (**decided**): the client's last event id moves
 * past the lost range, so a reconnect right after it resumes from the oldest retained event instead of
 * being told about the same gap again.
 */
export function gapFrame (from: number, to: number): Buffer {
  return Buffer.from(`id: ${to}\nevent: stream.gap\ndata: {"from":${from},"to":${to}}\n\n`)
}
