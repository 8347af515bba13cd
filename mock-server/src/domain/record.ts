// The request record of contract 7.3: what every client did, as sequenced entries. Bounded: a ring of
// `capacity` entries; the oldest are dropped and counted, and, when a file is given, every entry is
// also appended to it as NDJSON so nothing is lost on long runs.
import { createWriteStream, type WriteStream } from 'node:fs'

export type RecordEntryType = 'request' | 'stream' | 'frame' | 'drop' | 'resume' | 'fault' | 'auth' | 'limiter'

export interface RecordEntry {
  seq: number
  type: RecordEntryType
  /** Epoch ms. */
  ts: number
  [field: string]: unknown
}

export function createRecord ({ capacity, file, now }: { capacity: number, file?: string | undefined, now: () => number }) {
  let ring: Array<RecordEntry | undefined> = new Array(capacity)
  let next = 0 // seq of the next entry; seqs start at 1
  let dropped = 0
  let spill: WriteStream | undefined = file === undefined ? undefined : createWriteStream(file, { flags: 'a' })

  return {
    /** Append an entry; fields are copied by reference, so callers pass fresh objects. */
    append (type: RecordEntryType, fields: Record<string, unknown>): number {
      const seq = ++next
      const entry = fields as RecordEntry
      entry.seq = seq
      entry.type = type
      entry.ts ??= now()
      const slot = seq % capacity
      if (ring[slot] !== undefined) dropped++
      ring[slot] = entry
      if (spill !== undefined) spill.write(JSON.stringify(entry) + '\n')
      return seq
    },

    /** Entries with seq > after that are still retained, oldest first. */
    * after (after = 0): Generator<RecordEntry> {
      // Entries appended while a reader walks are left for its next call, so a read always ends.
      const last = next
      const first = Math.max(after + 1, last - capacity + 1, 1)
      for (let seq = first; seq <= last; seq++) {
        const e = ring[seq % capacity]
        if (e !== undefined && e.seq === seq) yield e
      }
    },

    /** Newline-delimited JSON of `after(seq)`. */
    ndjson (after = 0): string {
      let out = ''
      for (const e of this.after(after)) out += JSON.stringify(e) + '\n'
      return out
    },

    stats () {
      return { lastSeq: next, retained: Math.min(next, capacity), dropped, capacity }
    },

    clear (): void {
      ring = new Array(capacity)
      dropped = 0
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
