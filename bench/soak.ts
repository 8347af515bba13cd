// The soak (README, "Soak"): the mock at a steady rate with faults on, for SOAK_MINUTES (default 30).
// Load: wallet lists and creates (1,000 idempotency keys in turn) at SOAK_RPS (default 300/s, autocannon overallRate), 20
// event streams that reconnect with Last-Event-ID whenever they are dropped, and background events at
// 20/s per tenant. Faults: latency on 10 % of lists, a 500 on 2 %, a 429 burst on 1 %, stream drops
// and stalls. Every 30 s: live heap after a full GC, RSS, active handles and timers, and process
// listeners. After the warm-up (the first fifth, which also fills the record ring), each must stay
// flat: the report gives the first and last sample after warm-up and the least-squares slope per hour.
//   node bench/soak.ts            30 minutes
//   SOAK_MINUTES=3 node bench/soak.ts
import { request } from 'node:http'
import autocannon from 'autocannon'
import { startServer } from './lib.ts'

interface Sample { atS: number, rssMb: number, heapUsedMb: number, handles: number, timers: number, processListeners: number }

function slopePerHour (xs: number[], ys: number[]): number {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) { num += (xs[i]! - mx) * (ys[i]! - my); den += (xs[i]! - mx) ** 2 }
  return den === 0 ? 0 : num / den * 3600
}

export async function benchSoak ({ minutes = Number(process.env.SOAK_MINUTES ?? 30), rps = Number(process.env.SOAK_RPS ?? 300), streams = 20 } = {}) {
  const s = await startServer({
    kind: 'mock',
    execArgv: ['--max-semi-space-size=8', '--expose-gc'],
    config: { rateLimit: { limit: 1_000_000_000 }, record: { capacity: 50_000 }, events: { generatorRate: 20, heartbeatMs: 2000, capacity: 2000 } }
  })
  const h = { 'x-api-key': s.key, 'x-tenant-id': s.tenantId }
  await fetch(s.url + '/__harness/faults', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      faults: [
        { type: 'latency', minMs: 0, maxMs: 50, probability: 0.1, scope: { route: 'GET /api/wallet/list' } },
        { type: 'error', status: 500, probability: 0.02, scope: { route: 'GET /api/wallet/list' } },
        { type: 'rate-limit-burst', probability: 0.01, retryAfterS: 1, scope: { route: 'GET /api/wallet/list' } },
        { type: 'sse-drop', eventProbability: 0.01, scope: { route: '/api/events/stream' } },
        { type: 'sse-stall', afterEvents: 200, durationMs: 3000, probability: 0.2, scope: { route: '/api/events/stream' } }
      ]
    })
  })
  const end = Date.now() + minutes * 60_000
  // Streams that come back after every drop, from their last id, as a good client does.
  let reconnects = 0
  const streamLoops = Array.from({ length: streams }, async () => {
    let last: string | undefined
    while (Date.now() < end) {
      await new Promise<void>((resolve) => {
        const req = request(s.url + '/api/events/stream', { headers: { ...h, ...(last === undefined ? {} : { 'last-event-id': last }) } }, (res) => {
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => { const m = /id: (\d+)\n(?![\s\S]*id: \d)/.exec(chunk); if (m !== null) last = m[1] })
          res.on('close', () => { resolve() })
        })
        req.on('error', () => { resolve() })
        req.setTimeout(Math.max(1, end - Date.now()), () => { req.destroy() })
        req.end()
      })
      reconnects++
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  })
  let n = 0
  const load = autocannon({
    url: s.url,
    connections: 20,
    overallRate: rps,
    duration: minutes * 60,
    requests: [
      { method: 'GET', path: '/api/wallet/list?limit=20', headers: h },
      // 1,000 idempotency keys in turn: after the first thousand creates every create is a replay, so
      // the state the API rightly keeps (wallets, idempotency entries) stops growing and what is
      // left to grow is a leak.
      { method: 'POST', path: '/api/wallet/create', headers: { ...h, 'content-type': 'application/json' }, setupRequest: (r: Record<string, unknown>) => ({ ...r, headers: { ...(r.headers as object), 'x-idempotency-key': `soak-${n++ % 1000}` }, body: JSON.stringify({ name: 'soak', type: 'mpc', chain: 'ethereum' }) }) }
    ]
  } as autocannon.Options)
  const samples: Sample[] = []
  const t0 = Date.now()
  const sampler = setInterval(() => {
    s.child.once('message', (m) => { samples.push({ atS: Math.round((Date.now() - t0) / 1000), ...(m as Omit<Sample, 'atS'>) }) })
    s.child.send('soak')
  }, 30_000)
  const r = await load
  clearInterval(sampler)
  await Promise.all(streamLoops)
  await s.stop()
  const after = samples.filter((x) => x.atS >= minutes * 60 / 5)
  const xs = after.map((x) => x.atS)
  const trend = (k: keyof Omit<Sample, 'atS'>) => ({ first: round(after[0]?.[k]), last: round(after.at(-1)?.[k]), slopePerHour: round(slopePerHour(xs, after.map((x) => x[k]))) })
  return {
    name: `soak: ${minutes} min at ${rps} req/s with faults, ${streams} reconnecting streams`,
    minutes,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    streamReconnects: reconnects,
    samples: samples.length,
    afterWarmup: { heapUsedMb: trend('heapUsedMb'), rssMb: trend('rssMb'), handles: trend('handles'), timers: trend('timers'), processListeners: trend('processListeners') },
    all: samples.map((x) => ({ ...x, rssMb: round(x.rssMb), heapUsedMb: round(x.heapUsedMb) }))
  }
}

function round (v: number | undefined): number | null {
  return v === undefined ? null : Math.round(v * 10) / 10
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchSoak()
  process.stdout.write(JSON.stringify(result, null, 2) + '\n')
}
