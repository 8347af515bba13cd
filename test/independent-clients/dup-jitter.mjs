// dup-jitter.mjs: node:http client with an EventSource-like reconnect loop (retry: plus random
// jitter, as the WHATWG EventSource spec and backoff guides recommend). Correct in every other
// respect, but it handles every delivered event, so an event replayed on resume is processed twice.
import http from 'node:http'
import https from 'node:https'
import crypto from 'node:crypto'

const env = process.env
const api = new URL(env.TENZRO_API_URL ?? 'https://api.platform.tenzro.com')
const transport = api.protocol === 'https:' ? https : http
const stallMs = Number(env.TENZRO_HEARTBEAT_TIMEOUT_MS || 37500)
const otlp = env.OTEL_EXPORTER_OTLP_ENDPOINT

let running = true
let rateLimitedUntil = 0
const timers = new Set()
const wait = (ms) => new Promise((r) => {
  const t = setTimeout(() => { timers.delete(t); r() }, ms)
  timers.add(t)
})
function shutdown(why) {
  if (!running) return
  running = false
  console.log(`[dup-jitter] shutting down: ${why}`)
  for (const t of timers) clearTimeout(t)
  setTimeout(() => process.exit(0), 1500).unref()
}
process.on('SIGTERM', () => shutdown('SIGTERM'))

function authHeaders() {
  const h = { 'x-api-key': env.TENZRO_API_KEY, 'x-tenant-id': env.TENZRO_TENANT_ID }
  if (env.TENZRO_NETWORK) h['x-network'] = env.TENZRO_NETWORK
  return h
}

function send(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = transport.request(new URL(path, api), { method, headers, timeout: 15000 }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end(body)
  })
}

// exponential backoff with "equal jitter": half fixed, half random
const backoffMs = (n) => { const c = Math.min(6000, 300 * 2 ** n); return c / 2 + Math.random() * (c / 2) }

async function api_(method, path, payload) {
  const rid = crypto.randomUUID()
  const idem = method === 'POST' ? crypto.randomUUID() : null
  const body = payload ? JSON.stringify(payload) : undefined
  for (let n = 0; n <= 4; n++) {
    const gap = rateLimitedUntil - Date.now()
    if (gap > 0) await wait(gap)
    if (!running) return null
    let res
    try {
      res = await send(method, path, {
        ...authHeaders(), 'x-request-id': rid, accept: 'application/json',
        ...(idem ? { 'x-idempotency-key': idem, 'content-type': 'application/json' } : {}),
      }, body)
    } catch {
      await wait(backoffMs(n))
      continue
    }
    if (res.status < 300) return JSON.parse(res.body)
    if (res.status === 401 || res.status === 403) { shutdown(`auth refused: ${res.status}`); return null }
    if (![408, 409, 429, 500, 502, 503, 504].includes(res.status)) throw new Error(`${method} ${path} -> ${res.status}`)
    const ra = Number(res.headers['retry-after'])
    if (res.status === 429 && ra > 0) rateLimitedUntil = Date.now() + ra * 1000
    await wait(ra > 0 ? ra * 1000 + 100 : backoffMs(n))
  }
  throw new Error(`${method} ${path}: gave up`)
}

async function poller() {
  for (let i = 0; running; i++) {
    try {
      const page = await api_('GET', '/api/wallet/list?limit=20')
      if (page) console.log(`[dup-jitter] ${page.data.length} wallets on the first page`)
      if (i % 4 === 2) {
        const made = await api_('POST', '/api/wallet/create', { name: `dj ${i}`, type: 'multi-sig', chain: 'solana' })
        if (made) console.log(`[dup-jitter] new wallet ${made.data.id}`)
      }
    } catch (e) { console.log(`[dup-jitter] ${e.message}`) }
    await wait(2500)
  }
}

// consumer spans, posted as OTLP JSON in small batches
let batch = []
function traceEvent(id, type, t0) {
  if (!otlp) return
  batch.push({
    traceId: crypto.randomBytes(16).toString('hex'), spanId: crypto.randomBytes(8).toString('hex'),
    name: `${type} process`, kind: 5,
    startTimeUnixNano: `${t0}000000`, endTimeUnixNano: `${Date.now()}000000`,
    attributes: [{ key: 'messaging.message.id', value: { stringValue: id } },
      { key: 'messaging.operation.type', value: { stringValue: 'process' } }],
  })
}
setInterval(() => {
  if (!batch.length) return
  const spans = batch; batch = []
  const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'dup-jitter' } }] }, scopeSpans: [{ scope: { name: 'dup-jitter' }, spans }] }] })
  send('POST', new URL('/v1/traces', otlp).href, { 'content-type': 'application/json' }, body).catch(() => {})
}, 1000).unref()

// EventSource-like: lastEventId, reconnection time from retry:, jitter on every reconnect
const es = { lastEventId: '', reconnectMs: 1000 }

function onMessage(type, data, id) {
  const t0 = Date.now()
  if (type === 'stream.gap') { console.log(`[dup-jitter] gap ${data}; relisting`); api_('GET', '/api/wallet/list?limit=100').catch(() => {}); return }
  let evt
  try { evt = JSON.parse(data) } catch { return }
  // BUG (on purpose): no check whether this id was handled before
  console.log(`[dup-jitter] event ${id} ${String(evt?.type).slice(0, 30)}`)
  traceEvent(id, String(evt?.type).slice(0, 30), t0)
}

function connect() {
  return new Promise((resolve) => {
    const headers = { ...authHeaders(), accept: 'text/event-stream', 'cache-control': 'no-cache' }
    if (es.lastEventId) headers['last-event-id'] = es.lastEventId
    let watchdog
    const req = transport.get(new URL('/api/events/stream', api), { headers }, (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        const ra = Number(res.headers['retry-after'])
        if (res.statusCode === 401 || res.statusCode === 403) shutdown(`stream refused: ${res.statusCode}`)
        return resolve(ra > 0 ? ra * 1000 : 2000)
      }
      res.setEncoding('utf8')
      let pending = ''
      let ev = { type: '', data: [], id: null }
      const kick = () => { clearTimeout(watchdog); watchdog = setTimeout(() => { console.log('[dup-jitter] no heartbeat; reconnecting'); req.destroy() }, stallMs) }
      kick()
      res.on('data', (text) => {
        kick()
        pending += text
        const lines = pending.split(/\r\n|\n|\r/)
        pending = lines.pop()
        for (const line of lines) {
          if (!line) {
            if (ev.id !== null) es.lastEventId = ev.id
            if (ev.data.length) onMessage(ev.type || 'message', ev.data.join('\n'), es.lastEventId)
            ev = { type: '', data: [], id: null }
          } else if (line[0] !== ':') {
            const c = line.indexOf(':')
            const k = c === -1 ? line : line.slice(0, c)
            const v = c === -1 ? '' : line.slice(c + 1).replace(/^ /, '')
            if (k === 'data') ev.data.push(v)
            else if (k === 'event') ev.type = v
            else if (k === 'id') ev.id = v
            else if (k === 'retry' && /^\d+$/.test(v)) es.reconnectMs = +v
          }
        }
      })
      res.on('close', () => { clearTimeout(watchdog); resolve(null) })
      res.on('error', () => {})
    })
    req.on('error', () => { clearTimeout(watchdog); resolve(null) })
  })
}

async function subscriber() {
  while (running) {
    const gap = rateLimitedUntil - Date.now()
    if (gap > 0) await wait(gap + 50)
    const told = await connect()
    if (!running) break
    const delay = (told ?? es.reconnectMs) + Math.random() * 1500
    console.log(`[dup-jitter] stream closed; reconnecting in ${Math.round(delay)} ms`)
    await wait(delay)
  }
}

console.log(`[dup-jitter] connecting to ${api.origin}`)
await Promise.all([poller(), subscriber()])
