// The merged request record (contract 7.3) of instances that share state. Each instance keeps its own
// record as before and also appends every entry to one Redis stream, numbered by one counter, so the
// control API of any instance reads every instance's entries in one order: the order Redis received
// them, which keeps each instance's own order. An entry is read back with the merged sequence as its
// `seq` and the instance that wrote it as `instance`.
import type { Redis } from 'ioredis'

// KEYS[1] the stream, KEYS[2] the counter; ARGV[1] the instance, ARGV[2] the cap, ARGV[3..] the
// entries' JSON lines, in this instance's order.
const APPEND = `
local n = 0
for i = 3, #ARGV do
  n = redis.call('INCR', KEYS[2])
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], n .. '-1', 'i', ARGV[1], 'l', ARGV[i])
end
return n
`
/** Lines sent per script call at most. */
const BATCH = 512
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
  // The entries of one event-loop turn go to Redis in one script call: a call per entry cost more
  // CPU than the request it records.
  let batch: string[] = []
  let scheduled = false

  function flush (): void {
    scheduled = false
    while (batch.length > 0) {
      const lines = batch.length > BATCH ? batch.splice(0, BATCH) : batch
      if (lines === batch) batch = []
      pending = append(2, stream, counter, instance, capacity, ...lines).catch((err: Error) => { failed += lines.length; onError(err) })
    }
  }

  /** `{"seq":<local>,...}` as `{"seq":<n>,"instance":"<id>",...}`. */
  function rewrite (id: string, inst: string, line: string): string {
    const comma = line.indexOf(',')
    return `{"seq":${id.slice(0, id.indexOf('-'))},"instance":${JSON.stringify(inst)}${line.slice(comma)}`
  }

  return {
    /** Called with each entry's JSON line as this instance appends it (ioredis pipelines them in order). */
    add (line: string): void {
      batch.push(line)
      if (!scheduled) { scheduled = true; setImmediate(flush) }
    },

    /** Resolves once every entry added so far is stored. */
    flushed (): Promise<unknown> {
      flush()
      return pending
    },

    /** NDJSON lines of the merged entries with seq > after, oldest first. */
    async * lines (after = 0): AsyncGenerator<string> {
      flush()
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
      flush()
      await pending
      const [last, retained] = await Promise.all([redis.get(counter), redis.xlen(stream)])
      const lastSeq = Number(last ?? 0)
      return { lastSeq, retained, dropped: Math.max(0, lastSeq - retained), capacity, failed }
    },

    async clear (): Promise<void> {
      flush()
      await pending
      // The counter stays: `after` cursors held by readers stay valid across a reset.
      await redis.del(stream)
    }
  }
}

export type SharedRecord = ReturnType<typeof createSharedRecord>
