// The concurrent event-stream cap of contract 5.5 (default 5 per key): the events route acquires a
// slot when a stream opens (429 too_many_streams when none is free) and releases it when the stream
// closes. Counts live in this process; instances that share state put the count over all of them
// around it (domain/shared/stream-slots.ts).

export function createStreamSlots ({ max }: { max: number }) {
  if (!Number.isInteger(max) || max < 1) throw new TypeError(`stream slots: max must be an integer >= 1, got ${max}`)
  const open = new Map<string, number>()
  return {
    max,
    /** Take a slot for the key; false when it already holds `max` open streams. */
    acquire (keyId: string): boolean {
      const n = open.get(keyId) ?? 0
      if (n >= max) return false
      open.set(keyId, n + 1)
      return true
    },
    /** Give a slot back; releasing more than was acquired is a no-op. */
    release (keyId: string): void {
      const n = open.get(keyId)
      if (n === undefined) return
      if (n <= 1) open.delete(keyId)
      else open.set(keyId, n - 1)
    },
    count (keyId: string): number {
      return open.get(keyId) ?? 0
    }
  }
}

export type StreamSlots = ReturnType<typeof createStreamSlots>
