// Every open event stream of one app: one heartbeat timer for all of them (contract 4.3), closing a
// key's streams when it is revoked (2.5) and every stream on reset or shutdown.
import type { CloseReason, SseStream } from './stream.ts'

export interface StreamRegistryOptions {
  heartbeatMs: number
  setInterval?: (fn: () => void, ms: number) => unknown
  clearInterval?: (handle: unknown) => void
}

export function createStreamRegistry ({ heartbeatMs, setInterval: setTimer, clearInterval: clearTimer }: StreamRegistryOptions) {
  const start = setTimer ?? ((fn: () => void, ms: number) => { const t = setInterval(fn, ms); t.unref(); return t })
  const stop = clearTimer ?? ((h: unknown) => clearInterval(h as NodeJS.Timeout))
  const all = new Set<SseStream>()
  const byKey = new Map<string, Set<SseStream>>()
  let timer: unknown

  function beat (): void {
    // heartbeat() may close a stream (revoked, expired, slow): deleting during Set iteration is safe.
    for (const s of all) s.heartbeat()
  }

  return {
    add (s: SseStream): void {
      all.add(s)
      let set = byKey.get(s.keyId)
      if (set === undefined) { set = new Set(); byKey.set(s.keyId, set) }
      set.add(s)
      if (timer === undefined) timer = start(beat, heartbeatMs)
    },

    remove (s: SseStream): void {
      all.delete(s)
      const set = byKey.get(s.keyId)
      if (set !== undefined) {
        set.delete(s)
        if (set.size === 0) byKey.delete(s.keyId)
      }
      if (all.size === 0 && timer !== undefined) { stop(timer); timer = undefined }
    },

    /** Close every stream of a key now (revocation, 2.5). */
    closeKey (keyId: string, reason: CloseReason): number {
      const set = byKey.get(keyId)
      if (set === undefined) return 0
      const n = set.size
      for (const s of [...set]) s.end(reason)
      return n
    },

    closeAll (reason: CloseReason): number {
      const n = all.size
      for (const s of [...all]) s.end(reason)
      return n
    },

    count (keyId?: string): number {
      return keyId === undefined ? all.size : byKey.get(keyId)?.size ?? 0
    },

    /** Run the heartbeat now (tests with a fake clock). */
    beat
  }
}

export type StreamRegistry = ReturnType<typeof createStreamRegistry>
