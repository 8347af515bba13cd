// The noisy neighbour of the `shared-key` profile: the harness itself spends the client's key at a
// steady rate above its limit, so the client meets the limiter's real 429s, with the headers a real
// API sends (contract 5.2, 5.3), instead of injected ones. No k6: a timer and fetch. Its requests are
// named `X-Request-Id: <LOADER_REQUEST_PREFIX><n>`, so the harness can leave them out of the
// evidence that judges the client.
export const LOADER_REQUEST_PREFIX = 'tenzro-harness-loader-'

export interface LoaderOptions {
  baseUrl: string
  apiKey: string
  tenantId: string
  /** Requests per second, spread evenly. */
  ratePerS: number
  fetch?: typeof fetch
  now?: () => number
  /** At most this many requests in flight; beyond it a tick is skipped and counted (default 64). */
  maxInFlight?: number
  /**
   * The limiter's fixed window (epoch-aligned, contract 5.4): start as if the neighbour had been
   * running since the current window began, sending that share at once. Every window the client
   * meets, the first included, then runs out at the same point (1/share of the way through), so the
   * 429s come whatever the moment the run starts.
   */
  alignToWindowMs?: number
  /**
   * When one of its own answers says X-RateLimit-Remaining is at most this, the neighbour spends the
   * rest of the window at once (that many requests and a few more, in one burst), not one by one at
   * its rate. A client that paces itself on X-RateLimit-Remaining (contract 5.2) then cannot be the
   * one that took the key's last request, sees Remaining 0 only in a 429, and meets the blocked
   * stretch like any other client: the exercise does not depend on who won the last slot. 0 turns
   * it off (default 4).
   */
  drainAt?: number
}

export interface LoaderStats { sent: number, ok: number, limited: number, other: number, failed: number, skipped: number }

export function startLoader (o: LoaderOptions): { stop: () => Promise<LoaderStats>, stats: () => LoaderStats } {
  if (!(o.ratePerS > 0)) throw new TypeError('ratePerS must be > 0')
  const f = o.fetch ?? fetch
  const now = o.now ?? Date.now
  const stats: LoaderStats = { sent: 0, ok: 0, limited: 0, other: 0, failed: 0, skipped: 0 }
  const inFlight = new Set<Promise<void>>()
  const t0 = now()
  const started = o.alignToWindowMs === undefined ? t0 : t0 - (t0 % o.alignToWindowMs)
  // The catch-up of an aligned start goes out at once: room for it in flight.
  const max = Math.max(o.maxInFlight ?? 64, Math.ceil(((t0 - started) / 1000) * o.ratePerS) + 1)
  const url = o.baseUrl.replace(/\/+$/, '') + '/api/wallet/list?limit=1'
  const headers = { 'x-api-key': o.apiKey, 'x-tenant-id': o.tenantId, accept: 'application/json' }
  let stopped = false
  const drainAt = o.drainAt ?? 4
  // The window (its X-RateLimit-Reset) the neighbour last drained: one burst per window.
  let drained: string | null = null

  function drain (res: Response): void {
    const remaining = Number(res.headers.get('x-ratelimit-remaining') ?? NaN)
    const reset = res.headers.get('x-ratelimit-reset')
    if (stopped || reset === null || reset === drained || !Number.isInteger(remaining) || remaining <= 0 || remaining > drainAt) return
    drained = reset
    // A few more than are left: the client may take one meanwhile, the surplus meets 429s.
    for (let i = 0; i < remaining + 3; i++) one()
  }

  function one (): void {
    if (inFlight.size >= max) { stats.skipped++; return }
    const n = stats.sent++
    const p = f(url, { headers: { ...headers, 'x-request-id': `${LOADER_REQUEST_PREFIX}${n}` }, signal: AbortSignal.timeout(10_000) })
      .then(async (res) => {
        if (drainAt > 0) drain(res)
        await res.arrayBuffer()
        if (res.status === 200) stats.ok++
        else if (res.status === 429) stats.limited++
        else stats.other++
      }, () => { stats.failed++ })
      .finally(() => { inFlight.delete(p) })
    inFlight.add(p)
  }

  // Every tick sends what is due by now: steady on average even when a timer fires late.
  const tickMs = Math.max(5, Math.min(100, 1000 / o.ratePerS))
  const timer = setInterval(() => {
    if (stopped) return
    const due = Math.floor(((now() - started) / 1000) * o.ratePerS) - stats.sent - stats.skipped
    for (let i = 0; i < due; i++) one()
  }, tickMs)

  return {
    stats: () => ({ ...stats }),
    async stop () {
      stopped = true
      clearInterval(timer)
      await Promise.all([...inFlight])
      return { ...stats }
    }
  }
}
