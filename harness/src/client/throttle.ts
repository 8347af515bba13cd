// The client-side limiter: keeps a client under its rate limit so that, in steady state, it never sees
// a 429 (contract 5). Two rules, both enforced by handing out send times (slots) synchronously, so N
// concurrent callers get N distinct slots instead of waking together and bursting (the flaw of the
// "sliding window" class in the public security guide, which computes one wait for everyone):
//
// 1. Sliding log: at most `limit` sends in any `windowMs + marginMs`. That bounds every fixed window,
//    every sliding window and a token bucket of the same limit on the server (5.4). The margin absorbs
//    the spread of network latency between the client's clock and the server's arrival times.
// 2. The server's word: X-RateLimit-Remaining / X-RateLimit-Reset (5.2). A window with `remaining`
//    admissions left gets no more sends than that, counting those already handed out; when it reaches
//    0 the next send waits until the reset. A 429/503 Retry-After closes the gate for everyone.
//
// All state is numbers and one Float64Array; reserve() allocates nothing.

export interface LimitOptions {
  /** Requests per window the key is allowed (the key's rateLimit, contract 2.3). */
  limit: number
  /** The window length (contract 5.1 default 60 000). */
  windowMs: number
  /** Extra spacing added to the window; default 1 % of it, at least 20 ms and at most 1 s. */
  marginMs?: number
}

const DEFAULT_SERVER_WINDOW_MS = 60_000
/** Most send times kept; larger limits are paced in proportion (see below). */
const MAX_LOG = 4096

export function createThrottle ({ limit, now }: { limit: LimitOptions | false | undefined, now: () => number }) {
  if (limit !== undefined && limit !== false) {
    if (!Number.isInteger(limit.limit) || limit.limit < 1) throw new RangeError('limit.limit must be an integer >= 1')
    if (!(limit.windowMs > 0)) throw new RangeError('limit.windowMs must be > 0')
    if (limit.marginMs !== undefined && !(limit.marginMs >= 0)) throw new RangeError('limit.marginMs must be >= 0')
  }
  let size = 0
  let span = 0
  if (limit !== undefined && limit !== false) {
    const full = limit.windowMs + (limit.marginMs ?? Math.min(1000, Math.max(20, limit.windowMs / 100)))
    // A log of L times for a large L is memory for nothing: split the window into k equal parts and
    // allow floor(L / k) per part. Any window is covered by k parts, so it still holds at most L;
    // the price is a smoother pace and up to k - 1 unused admissions per window.
    const k = Math.ceil(limit.limit / MAX_LOG)
    size = Math.floor(limit.limit / k)
    span = k === 1 ? full : Math.ceil(full / k)
  }
  const ring = new Float64Array(size)
  let head = 0
  let count = 0
  let last = 0
  /** Reservations handed out so far; a request remembers its number to interpret its response. */
  let seq = 0

  // Everyone waits until this (Retry-After).
  let gateUntil = 0
  // Reservations numbered >= overFrom wait until overUntil (the server said the window is spent).
  let overFrom = Number.POSITIVE_INFINITY
  let overUntil = 0

  // The server's current window as last reported: its reset, its limit, admissions we may still use.
  let srvResetAt = 0
  let srvReported = 0
  let srvLimit = 0
  let srvLeft = 0
  const srvWindowMs = size === 0 ? DEFAULT_SERVER_WINDOW_MS : (limit as LimitOptions).windowMs

  return {
    /** Hands out the next send time (epoch ms, >= now). Read `sequence` right after to tag the request. */
    reserve (): number {
      const t0 = now()
      let t = t0 > last ? t0 : last
      if (t < gateUntil) t = gateUntil
      if (count === size && size > 0) {
        const free = ring[head]! + span
        if (t < free) t = free
      }
      if (srvResetAt > 0) {
        if (t >= srvResetAt) {
          // The window we knew has rolled over; until a response says otherwise, assume the next ones
          // follow at the same length with the full limit.
          srvResetAt += (Math.floor((t - srvResetAt) / srvWindowMs) + 1) * srvWindowMs
          srvLeft = srvLimit
        }
        if (srvLeft <= 0) {
          if (t < srvResetAt) t = srvResetAt
          srvResetAt += srvWindowMs
          srvLeft = srvLimit
        }
        srvLeft--
      }
      if (size > 0) {
        if (count === size) {
          ring[head] = t
          head = head + 1 === size ? 0 : head + 1
        } else {
          ring[(head + count) % size] = t
          count++
        }
      }
      last = t
      seq++
      return t
    },

    /** The number of the reservation reserve() just handed out. */
    get sequence (): number { return seq },

    /**
     * Called when a reservation's time has come: 0 if it may go now, otherwise the epoch ms to wait
     * for (the caller then reserves again; the old slot stays counted, which only errs on the safe side).
     */
    recheck (reservation: number): number {
      const t = now()
      if (t < gateUntil) return gateUntil
      if (reservation >= overFrom && t < overUntil) return overUntil
      return 0
    },

    /** X-RateLimit-* of a response to reservation `reservation` (contract 5.2). */
    observe (serverLimit: number, remaining: number, resetEpochS: number, reservation: number): void {
      if (!(serverLimit > 0) || !(remaining >= 0) || !(resetEpochS > 0)) return
      const resetAt = resetEpochS * 1000
      // Sends handed out after this request are not in the server's count yet: take them off.
      const left = remaining - (seq - reservation)
      if (resetAt > srvReported) {
        // News about a later window than any reported before (this also corrects a wrong guess of
        // the window length made at a rollover).
        srvReported = resetAt
        srvResetAt = resetAt
        srvLimit = serverLimit
        srvLeft = left
      } else if (resetAt === srvResetAt) {
        srvLimit = serverLimit
        if (left < srvLeft) srvLeft = left
      } else {
        return // about a window we have already moved past
      }
      if (left < 0 && now() < resetAt) {
        // Some sends already handed out would exceed the window: those numbered after the last one
        // the server can still admit wait for the reset.
        const from = reservation + remaining + 1
        if (from < overFrom || overUntil < resetAt) {
          overFrom = from
          overUntil = resetAt
        }
      }
    },

    /** A 429 or 503 said Retry-After: nobody sends before `untilMs`. */
    pause (untilMs: number): void {
      if (untilMs > gateUntil) gateUntil = untilMs
    },

    /** For tests and diagnostics. */
    state () {
      return { reserved: seq, gateUntil, serverResetAt: srvResetAt, serverLeft: srvLeft, serverLimit: srvLimit, windowSpanMs: span, limit: size }
    }
  }
}

export type Throttle = ReturnType<typeof createThrottle>
