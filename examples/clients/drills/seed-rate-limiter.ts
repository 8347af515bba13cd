// Tenzro's security guide, "Rate Limiting", taken at its word: the guide's client-side RateLimiter
// class, transcribed verbatim below, in front of plain fetch calls written like the guide's own
// server-side example (key and tenant in headers). The guide shows nothing else, so this client does
// nothing else: no Retry-After, no backoff, no retry, no Last-Event-ID; it logs a failed request and
// goes on with its loop. It lists and creates once a second each and keeps the stream open. The guide
// gives no numbers and calls the limiter a guard against "accidental abuse", so it is set to 20
// requests per second, above the ~3 per second the loops send: it holds back only a runaway loop. Set
// tighter, its waits interleave with the loops' sleeps and the gaps between requests (which the
// backoff check measures) change from run to run; at the contract's 100 per minute it spends its
// budget early and then holds every loop, and whether it meets a profile's revocation depends on the
// machine. What it passes and fails, and why, is in examples/clients/README.md.
//   tenzro-harness verify --profile default -- node examples/clients/drills/seed-rate-limiter.ts
import { log, readEnv, sleep, stopSignal } from '../lib/env.ts'

// ---- transcribed from the guide, unchanged ----
class RateLimiter {
  private requests: number[] = []
  private limit: number
  private window: number

  constructor (limit: number, windowMs: number) {
    this.limit = limit
    this.window = windowMs
  }

  async throttle (): Promise<void> {
    const now = Date.now()
    this.requests = this.requests.filter(t => t > now - this.window)
    if (this.requests.length >= this.limit) {
      const waitTime = this.requests[0]! + this.window - now
      await new Promise(r => setTimeout(r, waitTime))
    }
    this.requests.push(now)
  }
}
// ---- end of the guide's code ----

export { RateLimiter }

if (import.meta.main) {
  const env = readEnv()
  const stop = stopSignal()
  const keepAlive = setInterval(() => {}, 1 << 30)
  const limiter = new RateLimiter(20, 1000)
  const base = env.baseUrl.replace(/\/+$/, '')
  const headers = { 'X-API-Key': env.apiKey, 'X-Tenant-Id': env.tenantId }

  async function listLoop (): Promise<void> {
    while (!stop.aborted) {
      await limiter.throttle()
      try {
        const res = await fetch(`${base}/api/wallet/list`, { headers, signal: stop })
        const body = await res.json() as { data?: unknown[] }
        if (res.ok) log('info', 'listed wallets', { count: body.data?.length ?? 0 })
        else log('warn', 'list failed', { status: res.status })
      } catch (err) { if (!stop.aborted) log('warn', 'list failed', { error: (err as Error).message }) }
      await sleep(1000, stop)
    }
  }

  async function createLoop (): Promise<void> {
    for (let i = 1; !stop.aborted; i++) {
      await limiter.throttle()
      try {
        const res = await fetch(`${base}/api/wallet/create`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `seed ${i}`, type: 'mpc', chain: 'ethereum' }), signal: stop })
        await res.arrayBuffer()
        if (!res.ok) log('warn', 'create failed', { status: res.status })
      } catch (err) { if (!stop.aborted) log('warn', 'create failed', { error: (err as Error).message }) }
      await sleep(1000, stop)
    }
  }

  async function eventLoop (): Promise<void> {
    // The guide's "secure SSE connection": the stream with the key in headers, opened again when it ends.
    while (!stop.aborted) {
      await limiter.throttle()
      try {
        const res = await fetch(`${base}/api/events/stream`, { headers: { ...headers, Accept: 'text/event-stream' }, signal: stop })
        if (res.ok && res.body !== null) {
          let events = 0
          for await (const chunk of res.body) events += (new TextDecoder().decode(chunk as Uint8Array).match(/^id:/gm) ?? []).length
          log('info', 'event stream ended', { events })
        } else { await res.body?.cancel(); log('warn', 'event stream refused', { status: res.status }) }
      } catch (err) { if (!stop.aborted) log('warn', 'event stream broke', { error: (err as Error).message }) }
      await sleep(1000, stop)
    }
  }

  await Promise.all([listLoop(), createLoop(), eventLoop()])
  clearInterval(keepAlive)
}
