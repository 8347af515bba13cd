// The change feed of shared state: one Redis stream every instance appends its changes to (a tenant, a
// key, a revocation, a wallet, a fault plan, a reset) and every instance reads in the same order. Each
// instance keeps its synchronous in-memory stores and applies the feed to them, so the request path
// reads maps as it does with no shared backend; only writes and the rare "not known here yet" miss
// touch Redis.
//
// A stream and not pub/sub: an instance that starts (or reconnects) late replays what it missed from
// the stream, so a key made before it started still verifies there.
import { Redis } from 'ioredis'

/** A change as it travels: `o` is the instance that made it (which has applied it already). */
export interface FeedOp {
  o: string
  op: string
  [field: string]: unknown
}

export interface FeedOptions {
  url: string
  /** Stream key. */
  key: string
  /** This instance's id; its own changes are skipped when they come back. */
  instance: string
  apply: (op: FeedOp) => void
  onError: (err: Error) => void
  commandTimeoutMs?: number
}

/** Stream ids `ms-seq` as a comparable pair. */
function parseId (id: string): [number, number] {
  const i = id.indexOf('-')
  return [Number(id.slice(0, i)), Number(id.slice(i + 1))]
}

function after (a: [number, number], b: [number, number]): boolean {
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])
}

export function redisOptions (commandTimeoutMs: number) {
  return {
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(times * 50, 500)
  }
}

export async function createFeed ({ url, key, instance, apply, onError, commandTimeoutMs = 2000 }: FeedOptions) {
  const writer = new Redis(url, redisOptions(commandTimeoutMs))
  // The blocking reader needs a connection of its own, without a command timeout.
  const reader = new Redis(url, { ...redisOptions(0), commandTimeout: undefined })
  writer.on('error', () => {})
  reader.on('error', () => {})
  let last = '0-0'
  let lastPair: [number, number] = [0, 0]
  let closed = false
  const waiters: Array<{ id: [number, number], resolve: () => void }> = []

  function applyEntries (entries: Array<[string, string[]]>): void {
    for (const [id, fields] of entries) {
      last = id
      lastPair = parseId(id)
      const json = fields[1]
      if (json === undefined) continue
      let op: FeedOp
      try { op = JSON.parse(json) as FeedOp } catch { continue }
      // This instance's own changes were applied when made, except those it asked to get back (`self`).
      if (op.o === instance && op.self !== true) continue
      try { apply(op) } catch (err) { onError(err as Error) }
    }
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!
      if (!after(w.id, lastPair)) { waiters.splice(i, 1); w.resolve() }
    }
  }

  // What happened before this instance started: everything, in order.
  try {
    const history = await writer.xrange(key, '-', '+')
    applyEntries(history as Array<[string, string[]]>)
  } catch (err) {
    // Unreachable: give up now rather than reconnect forever in the background.
    writer.disconnect()
    reader.disconnect()
    throw err
  }

  async function follow (): Promise<void> {
    while (!closed) {
      try {
        const r = await reader.xread('BLOCK', 0, 'STREAMS', key, last) as Array<[string, Array<[string, string[]]>]> | null
        if (r !== null) for (const [, entries] of r) applyEntries(entries)
      } catch (err) {
        if (closed) return
        onError(err as Error)
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
  }
  void follow()

  /** Resolves once this instance has applied the feed up to `id`; rejects when the reader does not get there in time (a lost connection), so no request waits for ever. */
  function reached (id: string): Promise<void> {
    const pair = parseId(id)
    if (!after(pair, lastPair)) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const w = {
        id: pair,
        resolve: () => { clearTimeout(timer); resolve() }
      }
      const timer = setTimeout(() => {
        const i = waiters.indexOf(w)
        if (i !== -1) waiters.splice(i, 1)
        reject(new Error(`the state feed did not reach ${id} within ${commandTimeoutMs} ms`))
      }, commandTimeoutMs)
      waiters.push(w)
    })
  }

  return {
    /** Append a change this instance has applied already. Resolves once Redis has stored it. */
    async publish (op: Omit<FeedOp, 'o'>): Promise<string> {
      return (await writer.xadd(key, '*', 'op', JSON.stringify({ ...op, o: instance })))!
    },

    /**
     * Apply everything other instances have stored until now: the answer to "a key made on another
     * instance is not known here yet". One round trip, and the reader's next batch.
     */
    async catchUp (): Promise<void> {
      const newest = await writer.xrevrange(key, '+', '-', 'COUNT', 1)
      if (newest.length === 0) return
      await reached(newest[0]![0])
    },

    reached,

    redis: writer,

    async close (): Promise<void> {
      closed = true
      for (const w of waiters.splice(0)) w.resolve()
      reader.disconnect()
      await writer.quit().catch(() => { writer.disconnect() })
    }
  }
}

export type Feed = Awaited<ReturnType<typeof createFeed>>
