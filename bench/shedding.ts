// Overload shedding (README, "Overload"): 500 keep-alive connections on GET /api/wallet/list against
// the mock with shedding on (event-loop delay over 20 ms, sampled every 100 ms) and, side by side, the
// same mock with shedding off. Reported: throughput, p99 and max latency, the share answered 503 with
// Retry-After, and the p99 ratio on/off. /health stays answering on the shedding mock throughout.
import autocannon from 'autocannon'
import { startServer, type RunningServer } from './lib.ts'

interface Run { rps: number, p50Ms: number, p99Ms: number, maxMs: number, total: number, shed: number, retryAfterSeen: boolean, healthP99Ms: number }

async function hammer (s: RunningServer, durationS: number, connections: number): Promise<Run> {
  let shed = 0
  let retryAfterSeen = false
  let done!: (r: autocannon.Result) => void
  const finished = new Promise<autocannon.Result>((resolve) => { done = resolve })
  const inst = autocannon({ url: s.url + '/api/wallet/list', headers: { 'x-api-key': s.key, 'x-tenant-id': s.tenantId }, duration: durationS, connections, pipelining: 1 }, (_err, result) => { done(result) })
  inst.on('response', (_client, status) => { if (status === 503) shed++ })
  // One probe on /health every 200 ms while the load runs: it must keep answering.
  const health: number[] = []
  let stop = false
  const probe = (async () => {
    while (!stop) {
      const t = performance.now()
      await fetch(s.url + '/health').then((r) => r.text()).catch(() => '')
      health.push(performance.now() - t)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  })()
  const r = await finished
  stop = true
  await probe
  // Whether the 503s carry Retry-After: one request right after the load, while still over the limit.
  const res = await fetch(s.url + '/api/wallet/list', { headers: { 'x-api-key': s.key, 'x-tenant-id': s.tenantId } })
  await res.text()
  if (res.status === 503 && res.headers.get('retry-after') !== null) retryAfterSeen = true
  health.sort((a, b) => a - b)
  return { rps: Math.round(r.requests.average), p50Ms: r.latency.p50, p99Ms: r.latency.p99, maxMs: r.latency.max, total: r.requests.total, shed, retryAfterSeen: retryAfterSeen || shed > 0, healthP99Ms: Math.round(health[Math.floor(health.length * 0.99)] ?? 0) }
}

export async function benchShedding ({ durationS = 20, connections = 500, rounds = 2 } = {}) {
  const high = { rateLimit: { limit: 1_000_000_000 } }
  const on = await startServer({ kind: 'mock', config: { ...high, overload: { maxEventLoopDelayMs: 20, sampleIntervalMs: 100, retryAfterS: 1 } } })
  const off = await startServer({ kind: 'mock', config: { ...high, overload: { enabled: false } } })
  try {
    const a: Run[] = []
    const b: Run[] = []
    for (let i = 0; i < rounds; i++) {
      b.push(await hammer(off, durationS, connections))
      a.push(await hammer(on, durationS, connections))
    }
    const med = (xs: number[]) => { const s = [...xs].sort((x, y) => x - y); return s[s.length >> 1]! }
    return {
      name: `${connections} connections for ${durationS} s, shedding on (event-loop delay > 20 ms) vs off`,
      rounds,
      on: a,
      off: b,
      p99RatioOnOff: med(a.map((x) => x.p99Ms)) / med(b.map((x) => x.p99Ms)),
      shedShareOn: a.reduce((n, x) => n + x.shed, 0) / a.reduce((n, x) => n + x.total, 0)
    }
  } finally { await on.stop(); await off.stop() }
}
