// A plain-fetch Tenzro client for the drills: it lists wallets every 250 ms and consumes the event
// stream (Last-Event-ID, the server's retry:, a heartbeat watchdog), validating every wallet and event
// (./validate.ts). Each drill's habit is a knob; the defaults are the good habits:
// - where the key comes from: the environment, or TENZRO_API_KEY_FILE re-read on change and on a 401
//   (rotation), or that file read once;
// - the network: X-Network from TENZRO_NETWORK, or a fixed one;
// - what a bad event does: set aside and carried on from, crash the process, or retry it by resuming
//   from before it (a poison loop).
// On a refused key it stops every loop (a re-read file that holds the same key is a refusal too), and
// it never prints a key. It runs until SIGTERM.
import { randomUUID } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { log, readEnv, sleep, stopSignal } from '../../lib/env.ts'
import { cleanText, eventProblem, safeParse, walletProblem } from './validate.ts'

export interface DrillOptions {
  keySource: 'env' | 'file-reread' | 'file-once'
  /** X-Network: from TENZRO_NETWORK (absent when unset), or this value always. */
  network: 'env' | 'devnet' | 'testnet' | 'mainnet'
  onBadEvent: 'skip' | 'crash' | 'retry-from-before'
  /** Validate wallets and events; false trusts them (and a bad one throws further in). */
  validates: boolean
}

export const GOOD: Readonly<DrillOptions> = Object.freeze({ keySource: 'file-reread', network: 'env', onBadEvent: 'skip', validates: true })

export async function runDrillClient (name: string, overrides: Partial<DrillOptions> = {}): Promise<void> {
  const o: DrillOptions = { ...GOOD, ...overrides }
  const env = readEnv()
  const stopped = stopSignal()
  const refused = new AbortController()
  const stop = AbortSignal.any([stopped, refused.signal])
  const keepAlive = setInterval(() => {}, 1 << 30)
  const base = env.baseUrl.replace(/\/+$/, '')
  const file = process.env.TENZRO_API_KEY_FILE
  const network = o.network === 'env' ? process.env.TENZRO_NETWORK : o.network
  const heartbeatTimeoutMs = Number(process.env.TENZRO_HEARTBEAT_TIMEOUT_MS ?? 37_500)

  // The key: from the file when there is one (as secret managers mount it), else the environment.
  const readKey = (): string => (o.keySource !== 'env' && file !== undefined && file !== '') ? readFileSync(file, 'utf8').trim() : env.apiKey
  let key = readKey()
  let fileStamp = ''
  const stampOf = () => { try { const s = statSync(file!); return `${s.ino}:${s.mtimeMs}:${s.size}` } catch { return '' } }
  if (o.keySource === 'file-reread' && file !== undefined) fileStamp = stampOf()
  /** Re-read the key file; true when it now holds another key. */
  function reloadKey (why: string): boolean {
    if (o.keySource !== 'file-reread' || file === undefined) return false
    fileStamp = stampOf()
    let next: string
    try { next = readKey() } catch { return false }
    if (next === '' || next === key) return false
    key = next
    log('info', 'switched to the rotated API key', { why, keyPrefix: key.slice(0, 8) + '…' })
    return true
  }
  // On change: a rotation is picked up before the old key is revoked.
  const watcher = o.keySource === 'file-reread' && file !== undefined
    ? setInterval(() => { if (stampOf() !== fileStamp) reloadKey('file changed') }, 1000)
    : undefined

  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
    'x-api-key': key, 'x-tenant-id': env.tenantId, 'x-request-id': `drill-${randomUUID()}`, ...(network === undefined ? {} : { 'x-network': network }), ...extra
  })
  /** A 401/403: try the key file once more; a key that did not change means stop. */
  function onRefusal (what: string, status: number, code: string): boolean {
    if (status === 401 && reloadKey(`${what} answered 401 ${code}`)) return true
    log('error', `${what}: key refused (${status} ${code}); stopping`)
    refused.abort()
    return false
  }

  async function listLoop (): Promise<void> {
    let failures = 0
    while (!stop.aborted) {
      try {
        const res = await fetch(`${base}/api/wallet/list?limit=20`, { headers: headers({ accept: 'application/json' }), signal: AbortSignal.any([stop, AbortSignal.timeout(10_000)]) })
        const text = await res.text()
        if (res.status === 401 || res.status === 403) {
          if (onRefusal('GET /api/wallet/list', res.status, (safeParse(text) as { value?: { error?: { code?: string } } }).value?.error?.code ?? '')) continue
          return
        }
        if (!res.ok) throw new Error(`list answered ${res.status}`)
        const parsed = o.validates ? safeParse(text) : { ok: true as const, value: JSON.parse(text) as unknown }
        if (!parsed.ok) { log('warn', 'wallet list refused', { reason: parsed.reason.slice(0, 120) }); failures = 0 } else {
          const items = ((parsed.value as { data?: unknown[] }).data ?? []) as unknown[]
          let good = 0
          for (const w of items) {
            if (o.validates) { if (walletProblem(w) === undefined) good++ } else if (((w as { name: string }).name).length > 0) good++
          }
          log('info', 'listed wallets', { count: items.length, valid: good })
          failures = 0
        }
      } catch (err) {
        if (stop.aborted) return
        failures++
        log('warn', 'list failed', { error: (err as Error).message.slice(0, 200) })
      }
      await sleep(failures === 0 ? 250 : Math.min(5000, 250 * 2 ** failures) * Math.random(), stop)
    }
  }

  async function eventLoop (): Promise<void> {
    let lastId: string | undefined
    let reconnectMs = 1000
    let failures = 0
    while (!stop.aborted) {
      const ac = new AbortController()
      const onStop = () => ac.abort()
      stop.addEventListener('abort', onStop, { once: true })
      let stalled = false
      const watchdog = setTimeout(() => { stalled = true; ac.abort() }, heartbeatTimeoutMs)
      let progressed = false
      try {
        const res = await fetch(`${base}/api/events/stream`, { headers: headers({ accept: 'text/event-stream', ...(lastId === undefined ? {} : { 'last-event-id': lastId }) }), signal: ac.signal })
        if (res.status === 401 || res.status === 403) {
          await res.body?.cancel()
          if (onRefusal('GET /api/events/stream', res.status, String(res.status))) continue
          return
        }
        if (res.status !== 200 || res.body === null) { await res.body?.cancel(); throw new Error(`stream answered ${res.status}`) }
        const decoder = new TextDecoder()
        let buf = ''
        let id = ''
        let type = ''
        let data = ''
        for await (const chunk of res.body) {
          watchdog.refresh()
          buf += decoder.decode(chunk as Uint8Array, { stream: true })
          let nl: number
          while ((nl = buf.indexOf('\n')) !== -1) {
            const line = buf.slice(0, nl).replace(/\r$/, '')
            buf = buf.slice(nl + 1)
            if (line === '') {
              if (data !== '') {
                progressed = true
                const problem = handle(id, type, data)
                if (problem !== undefined) {
                  if (o.onBadEvent === 'retry-from-before') {
                    // Resume from the last good event and try this one again: it fails the same way.
                    log('warn', 'event failed; reconnecting to retry it', { id, reason: problem })
                    throw new Error('retry')
                  }
                  if (o.onBadEvent === 'crash') throw new TypeError(`event ${id} is invalid: ${problem}`)
                  log('warn', 'event set aside', { id, type: cleanText(type, 64), reason: problem })
                }
                if (id !== '') lastId = id
              }
              id = ''; type = ''; data = ''
              continue
            }
            if (line.startsWith(':')) continue
            const c = line.indexOf(':')
            const field = c === -1 ? line : line.slice(0, c)
            const value = c === -1 ? '' : line.slice(c + 1).replace(/^ /, '')
            if (field === 'id') id = value
            else if (field === 'event') type = value
            else if (field === 'data') data = data === '' ? value : data + '\n' + value
            else if (field === 'retry' && /^\d+$/.test(value)) reconnectMs = Number(value)
          }
        }
      } catch (err) {
        if (err instanceof TypeError && o.onBadEvent === 'crash' && !stop.aborted) throw err
        if (!stop.aborted && !stalled && (err as Error).message !== 'retry') log('warn', 'event stream broke', { error: (err as Error).message.slice(0, 200) })
      } finally {
        clearTimeout(watchdog)
        stop.removeEventListener('abort', onStop)
      }
      failures = progressed ? 0 : failures + 1
      await sleep(failures <= 1 ? reconnectMs : Math.max(reconnectMs, Math.min(3000, 500 * 2 ** failures) * Math.random()), stop)
    }
  }

  /** Process one event; the reason it was refused, or undefined. */
  function handle (id: string, type: string, data: string): string | undefined {
    if (type === 'stream.gap') return undefined
    if (!o.validates) {
      const body = JSON.parse(data) as { data: { amount?: string, name?: string } }
      // Trusting the payload: a NaN amount or a missing name goes straight into the books.
      if (body.data.amount !== undefined && Number.isNaN(Number(body.data.amount))) return 'amount is not a number'
      return undefined
    }
    const parsed = safeParse(data)
    if (!parsed.ok) return parsed.reason.slice(0, 120)
    const body = parsed.value as { type?: unknown, data?: unknown }
    return eventProblem(type, body.data)
  }

  log('info', 'starting', { client: name, baseUrl: base, tenantId: env.tenantId, network: network ?? 'devnet (default)', keyFrom: o.keySource === 'env' || file === undefined ? 'TENZRO_API_KEY' : 'TENZRO_API_KEY_FILE' })
  try {
    await Promise.all([listLoop(), eventLoop()])
  } finally {
    if (watcher !== undefined) clearInterval(watcher)
  }
  if (!stopped.aborted) await new Promise((resolve) => stopped.addEventListener('abort', resolve, { once: true }))
  clearInterval(keepAlive)
}
