// hammers-401.mjs: a careful client that treats a 401 like any other failure and never gives up:
// after its key is revoked it keeps retrying in a tight loop (10 ms apart).
//
// Configuration comes from the environment only:
//   TENZRO_API_URL, TENZRO_API_KEY (or TENZRO_API_KEY_FILE, re-read when it changes), TENZRO_TENANT_ID,
//   TENZRO_NETWORK (optional), TENZRO_HEARTBEAT_TIMEOUT_MS (optional), OTEL_EXPORTER_OTLP_ENDPOINT (optional)
import { randomUUID, randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'

const BASE = (process.env.TENZRO_API_URL ?? 'https://api.platform.tenzro.com').replace(/\/$/, '')
const TENANT = process.env.TENZRO_TENANT_ID
const NETWORK = process.env.TENZRO_NETWORK
const KEY_FILE = process.env.TENZRO_API_KEY_FILE
const HEARTBEAT_TIMEOUT_MS = Number(process.env.TENZRO_HEARTBEAT_TIMEOUT_MS ?? 37_500) // 2.5 x 15 s
const OTLP = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
const MAX_RETRIES = 4
const BASE_DELAY_MS = 250
const MAX_DELAY_MS = 8_000
const RECONNECT_JITTER_MS = 2_000

if (!TENANT || !(process.env.TENZRO_API_KEY || KEY_FILE)) {
  console.error('config: TENZRO_API_KEY (or TENZRO_API_KEY_FILE) and TENZRO_TENANT_ID are required')
  process.exit(2)
}

// ---- key handling: never printed; re-read from the file when it changes ----
let apiKey = process.env.TENZRO_API_KEY ?? ''
let keyFileMtime = 0
function refreshKey() {
  if (!KEY_FILE) return false
  try {
    const st = statSync(KEY_FILE)
    if (st.mtimeMs === keyFileMtime) return false
    keyFileMtime = st.mtimeMs
    const k = readFileSync(KEY_FILE, 'utf8').trim()
    if (k && k !== apiKey) {
      apiKey = k
      log('api key changed on disk; using the new key')
      return true
    }
  } catch {
    /* file missing for a moment during a swap: keep the current key */
  }
  return false
}
refreshKey()

let stopped = false
const stopController = new AbortController()
function stop(reason) {
  if (stopped) return
  stopped = true
  log(`stopping: ${reason}`)
  stopController.abort()
}
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))

function log(msg) {
  console.log(`${new Date().toISOString()} hammers-401 ${msg}`)
}
const sleep = (ms) =>
  new Promise((resolve) => {
    if (stopped) return resolve()
    const t = setTimeout(resolve, ms)
    stopController.signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
  })
const fullJitter = (attempt) => Math.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt)

function headers(extra = {}) {
  refreshKey()
  const h = { 'X-API-Key': apiKey, 'X-Tenant-Id': TENANT, ...extra }
  if (NETWORK) h['X-Network'] = NETWORK
  return h
}

function retryAfterMs(res) {
  const v = res.headers.get('retry-after')
  if (!v) return null
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000
  const date = Date.parse(v)
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now())
}

class ApiError extends Error {
  constructor(status, code, requestId) {
    super(`HTTP ${status} ${code ?? ''} (request ${requestId ?? '?'})`)
    this.status = status
    this.code = code
  }
}

// simple pacing from the rate-limit headers
let pauseUntil = 0
function notePacing(res) {
  const remaining = Number(res.headers.get('x-ratelimit-remaining'))
  const reset = Number(res.headers.get('x-ratelimit-reset'))
  if (Number.isFinite(remaining) && remaining <= 2 && Number.isFinite(reset)) {
    pauseUntil = Math.max(pauseUntil, reset * 1000)
  }
}

async function call(method, path, body) {
  const requestId = `gn-${randomUUID()}`
  const idem = method === 'POST' ? randomUUID() : undefined // one key for every attempt
  let authRetried = false
  for (let attempt = 0; ; attempt++) {
    if (stopped) throw new Error('stopped')
    if (Date.now() < pauseUntil) await sleep(pauseUntil - Date.now())
    let res
    try {
      res = await fetch(BASE + path, {
        method,
        headers: headers({
          'X-Request-Id': requestId,
          ...(idem ? { 'X-Idempotency-Key': idem, 'Content-Type': 'application/json' } : {}),
        }),
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.any([stopController.signal, AbortSignal.timeout(15_000)]),
      })
    } catch (err) {
      if (stopped) throw err
      if (attempt >= MAX_RETRIES) throw new Error(`${method} ${path}: network error, giving up after ${attempt} retries`, { cause: err })
      const d = fullJitter(attempt)
      log(`${method} ${path}: network error (${err.cause?.code ?? err.name}); retry ${attempt + 1} in ${d.toFixed(0)} ms`)
      await sleep(d)
      continue
    }
    notePacing(res)
    if (res.ok) return res.json()
    const text = await res.text()
    let code
    try { code = JSON.parse(text).error?.code } catch { /* not JSON */ }
    if (res.status === 401 || res.status === 403) {
      // a rotated key: pick the new one up once, otherwise give up for good
      if (res.status === 401 && !authRetried && refreshKey()) { authRetried = true; attempt--; continue }
      throw new ApiError(res.status, code, res.headers.get('x-request-id'))
    }
    if (res.status === 401 || res.status === 403) { await sleep(10); attempt = 0; continue }
    const retriable = res.status === 429 || res.status >= 500 || res.status === 409 || res.status === 408
    if (!retriable || attempt >= MAX_RETRIES) throw new ApiError(res.status, code, res.headers.get('x-request-id'))
    const ra = retryAfterMs(res)
    // a 429 means the key is over its limit: every request of this key waits, not only this one
    if (res.status === 429 && ra !== null) pauseUntil = Math.max(pauseUntil, Date.now() + ra)
    const d = ra !== null ? ra + Math.random() * 250 : fullJitter(attempt)
    log(`${method} ${path}: ${res.status} ${code}; retry ${attempt + 1} in ${d.toFixed(0)} ms`)
    await sleep(d)
  }
}

function authFatal(_err) {
  // "maybe the key comes back": keep going
  return false
}

// ---- validation of what the API sends (never trust it) ----
const CHAINS = new Set(['ethereum', 'solana', 'bitcoin'])
const TYPES = new Set(['mpc', 'multi-sig', 'single'])
function validWallet(w) {
  return w && typeof w === 'object' && typeof w.id === 'string' && /^wal_[A-Za-z0-9]{1,64}$/.test(w.id) &&
    typeof w.name === 'string' && w.name.length <= 64 && CHAINS.has(w.chain) && TYPES.has(w.type) &&
    typeof w.address === 'string' && w.address.length < 128
}

const wallets = new Map()
async function listWallets() {
  let cursor = null
  let pages = 0
  do {
    const q = new URLSearchParams({ limit: '50' })
    if (cursor) q.set('cursor', cursor)
    const page = await call('GET', `/api/wallet/list?${q}`)
    let bad = 0
    for (const w of Array.isArray(page.data) ? page.data : []) {
      if (validWallet(w)) wallets.set(w.id, w)
      else bad++
    }
    if (bad) log(`wallet list: skipped ${bad} invalid wallet(s)`)
    cursor = page.meta?.hasMore && typeof page.meta.cursor === 'string' ? page.meta.cursor : null
  } while (cursor && ++pages < 3)
  return wallets.size
}

async function restLoop() {
  let n = 0
  while (!stopped) {
    try {
      const count = await listWallets()
      if (n % 3 === 1) {
        const res = await call('POST', '/api/wallet/create', { name: `gn-${Date.now()}`, type: 'mpc', chain: 'ethereum' })
        log(`created wallet ${res.data?.id}`)
      } else {
        log(`listed wallets: ${count} known`)
      }
    } catch (err) {
      if (authFatal(err)) return
      if (!stopped) log(`request failed: ${err.message}`)
    }
    n++
    await sleep(2000)
  }
}

// ---- spans (OTLP/HTTP JSON), one consumer span per processed event ----
const pendingSpans = []
function span(name, kind, start, end, attrs) {
  if (!OTLP) return
  pendingSpans.push({
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    name,
    kind,
    startTimeUnixNano: String(BigInt(Math.round(start)) * 1_000_000n),
    endTimeUnixNano: String(BigInt(Math.round(end)) * 1_000_000n),
    attributes: Object.entries(attrs).map(([key, v]) => ({ key, value: { stringValue: String(v) } })),
    status: {},
  })
}
async function flushSpans() {
  if (!OTLP || pendingSpans.length === 0) return
  const spans = pendingSpans.splice(0)
  const body = {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'hammers-401' } }] },
      scopeSpans: [{ scope: { name: 'hammers-401' }, spans }],
    }],
  }
  try {
    await fetch(`${OTLP.replace(/\/$/, '')}/v1/traces`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      signal: AbortSignal.timeout(3000),
    })
  } catch { /* telemetry is best effort */ }
}
const spanTimer = setInterval(flushSpans, 1000)

// ---- the event stream ----
const seen = new Set()
let lastEventId = null
let retryMs = 1000
let processed = 0

function handleEvent(ev) {
  if (ev.event === 'stream.gap') {
    let range = {}
    try { range = JSON.parse(ev.data) } catch { /* ignore */ }
    log(`stream gap ${range.from}..${range.to}: resynchronising wallets`)
    listWallets().catch((err) => { if (!authFatal(err)) log(`resync failed: ${err.message}`) })
    return
  }
  if (ev.id !== undefined && seen.has(ev.id)) {
    log(`event ${ev.id} already processed; skipped`)
    return
  }
  const start = Date.now()
  let payload
  try {
    payload = JSON.parse(ev.data)
    if (!payload || typeof payload !== 'object' || typeof payload.type !== 'string') throw new Error('bad shape')
  } catch {
    log(`event ${ev.id}: invalid payload, skipped`)
    if (ev.id !== undefined) seen.add(ev.id)
    return
  }
  if (ev.id !== undefined) seen.add(ev.id)
  processed++
  span(`process ${String(payload.type).slice(0, 40)}`, 5, start, Date.now(), {
    'messaging.message.id': ev.id ?? '',
    'messaging.system': 'tenzro',
    'messaging.operation.type': 'process',
  })
}

async function streamOnce() {
  const ctl = new AbortController()
  const onStop = () => ctl.abort()
  stopController.signal.addEventListener('abort', onStop, { once: true })
  let stallTimer
  const armStall = () => {
    clearTimeout(stallTimer)
    stallTimer = setTimeout(() => { log('stream stalled (no heartbeat); reconnecting'); ctl.abort() }, HEARTBEAT_TIMEOUT_MS)
  }
  try {
    if (Date.now() < pauseUntil) await sleep(pauseUntil - Date.now() + 50)
    if (stopped) return undefined
    armStall()
    const res = await fetch(`${BASE}/api/events/stream`, {
      headers: headers({ Accept: 'text/event-stream', ...(lastEventId !== null ? { 'Last-Event-ID': lastEventId } : {}) }),
      signal: ctl.signal,
    })
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel()
      return 10
    }
    if (!res.ok) {
      await res.body?.cancel()
      const ra = retryAfterMs(res)
      log(`event stream: ${res.status}; waiting ${ra ?? 'backoff'}`)
      return ra ?? null
    }
    const decoder = new TextDecoder()
    let buf = ''
    let data = []
    let evName
    let idBuf
    for await (const chunk of res.body) {
      armStall()
      buf += decoder.decode(chunk, { stream: true })
      let nl
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1))
        if (line === '') {
          if (idBuf !== undefined) lastEventId = idBuf
          if (data.length) handleEvent({ id: idBuf, event: evName, data: data.join('\n') })
          data = []
          evName = undefined
          idBuf = undefined
          continue
        }
        if (line.startsWith(':')) continue
        const i = line.indexOf(':')
        const field = i < 0 ? line : line.slice(0, i)
        let value = i < 0 ? '' : line.slice(i + 1)
        if (value.startsWith(' ')) value = value.slice(1)
        if (field === 'data') data.push(value)
        else if (field === 'event') evName = value
        else if (field === 'id' && !value.includes('\0')) idBuf = value
        else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value)
      }
    }
    log(`event stream ended (last id ${lastEventId}, ${processed} processed)`)
  } catch (err) {
    if (!stopped) log(`event stream error: ${err.name}`)
  } finally {
    clearTimeout(stallTimer)
    stopController.signal.removeEventListener('abort', onStop)
  }
  return undefined
}

async function streamLoop() {
  let failures = 0
  while (!stopped) {
    const wait = await streamOnce()
    if (stopped) break
    let d
    if (wait === 10) d = 10
    else if (typeof wait === 'number') { d = wait + Math.random() * 250; failures = 0 }
    else if (wait === null) d = fullJitter(failures++)
    else { d = retryMs + Math.random() * RECONNECT_JITTER_MS; failures = 0 }
    log(`reconnecting in ${d.toFixed(0)} ms${lastEventId !== null ? ` from event ${lastEventId}` : ''}`)
    await sleep(d)
  }
}

log(`starting against ${BASE} for tenant ${TENANT}`)
await Promise.all([restLoop(), streamLoop()])
clearInterval(spanTimer)
await flushSpans()
log(`done: ${processed} events processed`)
