// The request record of contract 7.3: what every client did, as sequenced entries. Bounded: a ring of
// `capacity` entries; the oldest are dropped and counted, and, when a file is given, every entry is
// also appended to it as NDJSON so nothing is lost on long runs.
import { createWriteStream, openSync, type WriteStream } from 'node:fs'

export type RecordEntryType = 'request' | 'stream' | 'frame' | 'drop' | 'resume' | 'fault' | 'auth' | 'limiter'

export interface RecordEntry {
  seq: number
  type: RecordEntryType
  /** Epoch ms. */
  ts: number
  [field: string]: unknown
}

/**
 * Entries are kept as their JSON line: serialised once, shared with the log line and the spill file,
 * and about half the memory of the object. Readers that want objects get them parsed.
 */
/**
 * Hears every entry as it is appended (the metrics are derived from the record this way, so the
 * request path and the streams need no counters of their own). `context` is what the appender passed
 * beside the entry (the request state for request entries). Must not keep or change `fields`.
 */
export type RecordObserver = (type: RecordEntryType, fields: Readonly<Record<string, unknown>>, context: unknown) => void

export function createRecord ({ capacity, file, now }: { capacity: number, file?: string | undefined, now: () => number }) {
  let observer: RecordObserver | undefined
  let ring: Array<string | undefined> = new Array(capacity)
  let next = 0 // seq of the next entry; seqs start at 1
  let dropped = 0
  let clearedAt = 0 // last seq before the latest clear(); entries up to it are gone, not retained
  let spillError: string | null = null
  let spill: WriteStream | undefined = file === undefined ? undefined : openSpill(file)

  function openSpill (path: string): WriteStream {
    // Opened synchronously so a bad path fails buildApp (the CLI exits 3) instead of an unhandled
    // 'error' event killing the process after it printed that it listens.
    const s = createWriteStream(path, { fd: openSync(path, 'a') })
    // A later write error (disk full) stops the spill, never the mock; stats() tells.
    s.on('error', (err: NodeJS.ErrnoException) => { spillError = err.code ?? err.message; spill = undefined })
    return s
  }

  function appendJson (type: RecordEntryType, fields: Record<string, unknown>, context?: unknown): string {
    const seq = ++next
    let ts = now()
    if (fields.ts !== undefined) { ts = fields.ts as number; delete fields.ts }
    const body = JSON.stringify(fields)
    const line = `{"seq":${seq},"type":"${type}","ts":${ts}${body.length > 2 ? ',' + body.slice(1) : '}'}`
    // Concatenation makes a rope (cons string) of ~2x the flat size; reading a char flattens it in
    // place, so the ring holds flat strings (the record is the mock's largest structure).
    line.charCodeAt(0)
    const slot = seq % capacity
    if (ring[slot] !== undefined) dropped++
    ring[slot] = line
    if (spill !== undefined) spill.write(line + '\n')
    if (observer !== undefined) {
      // The entry is stored: a fault in what derives from it (the metrics) must not lose it.
      try {
        observer(type, fields, context)
      } catch {
        // counted nowhere: the record is what the checks judge by, the metrics only mirror it
      }
    }
    return line
  }

  function * lines (after: number): Generator<string> {
    // Entries appended while a reader walks are left for its next call, so a read always ends.
    const last = next
    const first = Math.max(after + 1, last - capacity + 1, 1)
    for (let seq = first; seq <= last; seq++) {
      const line = ring[seq % capacity]
      if (line !== undefined && line.startsWith(`{"seq":${seq},`)) yield line
    }
  }

  return {
    /** Append an entry (the caller's object is not kept); returns its sequence number. */
    append (type: RecordEntryType, fields: Record<string, unknown>, context?: unknown): number {
      appendJson(type, fields, context)
      return next
    },

    /** Set the one observer of appended entries (undefined removes it). */
    observe (fn: RecordObserver | undefined): void {
      observer = fn
    },

    /** Append and return the entry's JSON line (the log line reuses it). */
    appendJson,

    /** Entries with seq > after that are still retained, oldest first. */
    * after (after = 0): Generator<RecordEntry> {
      for (const line of lines(after)) yield JSON.parse(line) as RecordEntry
    },

    /** NDJSON lines (each ending in a newline) of the entries with seq > after. */
    * ndjsonLines (after = 0): Generator<string> {
      for (const line of lines(after)) yield line + '\n'
    },

    /** Newline-delimited JSON of `after(seq)`. */
    ndjson (after = 0): string {
      let out = ''
      for (const line of lines(after)) out += line + '\n'
      return out
    },

    stats () {
      return { lastSeq: next, retained: Math.min(next - clearedAt, capacity), dropped, capacity, spillError }
    },

    clear (): void {
      ring = new Array(capacity)
      dropped = 0
      clearedAt = next
      // Sequence numbers keep counting across resets, so `after` cursors held by readers stay valid.
    },

    async close (): Promise<void> {
      const s = spill
      spill = undefined
      if (s !== undefined) await new Promise<void>((resolve) => s.end(resolve))
    }
  }
}

export type RequestRecord = ReturnType<typeof createRecord>
