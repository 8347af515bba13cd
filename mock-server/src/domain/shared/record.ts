// The merged request record (contract 7.3) of instances that share state. Each instance keeps its own
// record as before and also appends every entry to one Redis stream, numbered by one counter, so the
// control API of any instance reads every instance's entries in one order: the order Redis received
// them, which keeps each instance's own order. An entry is read back with the merged sequence as its
// `seq` and the instance that wrote it as `instance`.
import type { Redis } from 'ioredis'

// KEYS[1] the stream, KEYS[2] the counter; ARGV[1] the instance, ARGV[2] the entry's JSON, ARGV[3] the cap.
const APPEND = `
local n = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], n .. '-1', 'i', ARGV[1], 'l', ARGV[2])
return n
`
/** Entries read per round trip when the record is read. */
const PAGE = 2000

type Script = (numKeys: number, ...args: Array<string | number>) => Promise<number>

export function createSharedRecord ({ redis, prefix, instance, capacity, onError }: { redis: Redis, prefix: string, instance: string, capacity: number, onError: (err: Error) => void }) {
  redis.defineCommand('tnzRecordAppend', { lua: APPEND })
  const append = (redis as unknown as { tnzRecordAppend: Script }).tnzRecordAppend.bind(redis)
  const stream = `${prefix}record`
  const counter = `${prefix}record:seq`
  let failed = 0
  let pending: Promise<unknown> = Promise.resolve()

  /** `{"seq":<local>,...}` as `{"seq":<n>,"instance":"<id>",...}`. */
  function rewrite (id: string, inst: string, line: string): string {
    const comma = line.indexOf(',')
    return `{"seq":${id.slice(0, id.indexOf('-'))},"instance":${JSON.stringify(inst)}${line.slice(comma)}`
  }

  return {
    /** Called with each entry's JSON line as this instance appends it (ioredis pipelines them in order). */
    add (line: string): void {
      pending = append(2, stream, counter, instance, line, capacity).catch((err: Error) => { failed++; onError(err) })
    },

    /** Resolves once every entry added so far is stored. */
    flushed (): Promise<unknown> {
      return pending
    },

    /** NDJSON lines of the merged entries with seq > after, oldest first. */
    async * lines (after = 0): AsyncGenerator<string> {
      await pending
      let from = `${after + 1}-0`
      for (;;) {
        const page = await redis.xrange(stream, from, '+', 'COUNT', PAGE) as Array<[string, string[]]>
        for (const [id, f] of page) yield rewrite(id, f[1]!, f[3]!) + '\n'
        if (page.length < PAGE) return
        from = '(' + page[page.length - 1]![0]
      }
    },

    async stats () {
      await pending
      const [last, retained] = await Promise.all([redis.get(counter), redis.xlen(stream)])
      const lastSeq = Number(last ?? 0)
      return { lastSeq, retained, dropped: Math.max(0, lastSeq - retained), capacity, failed }
    },

    async clear (): Promise<void> {
      await pending
      // The counter stays: `after` cursors held by readers stay valid across a reset.
      await redis.del(stream)
    }
  }
}

export type SharedRecord = ReturnType<typeof createSharedRecord>
