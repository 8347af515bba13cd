// Scale-out benchmarks (README "Scale-out"), each against a baseline run side by side in the same run,
// on a real redis-server and nats-server -js:
//
//   shared-state  one tenzro-mock with shared state (--state, --rate-limit-store on Redis, --events on
//                 NATS) vs the same with everything in memory: CPU per request of the mock process
//                 (and of redis-server), GET /api/wallet/list.
//   workers       tenzro-mock --workers 2 vs --workers 1 (both on the shared backends): requests/s, the
//                 CPU the mock's processes used, and the CPU of the load generator (autocannon, this
//                 process), which on a small machine competes with the workers for the same cores.
//
// Every server is the real command (bin/tenzro-mock.js) in its own processes; CPU is read from
// /proc/<pid>/stat of each, so a cluster's primary and workers all count.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'
import { startMockProcess, type MockProcess } from '../mock-server/test/helpers/instances.ts'
import { startNatsServer } from '../mock-server/test/helpers/nats.ts'
import { redisServerBinary, startRedisServer } from '../mock-server/test/helpers/redis.ts'
import { natsServerBinary } from '../mock-server/test/helpers/nats.ts'
import { median } from './lib.ts'
import type { MockConfigInput } from '../mock-server/src/config.ts'

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())

/** User + system CPU of a process, in µs. */
function procCpuUs (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) * TICK_US
  } catch { return 0 }
}

/** The process and its children (a cluster's workers). */
function tree (pid: number): number[] {
  let kids: number[] = []
  try { kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) } catch { /* gone already */ }
  return [pid, ...kids]
}

interface Measured { rps: number, requests: number, non2xx: number, serverCores: number, serverCpuPerReqUs: number, loadgenCores: number, extraCpuPerReqUs?: number }

async function measure (m: MockProcess, key: { key: string, tenantId: string }, durationS: number, extraPid?: number): Promise<Measured> {
  const pids = tree(m.child.pid!)
  const cpu0 = pids.reduce((n, p) => n + procCpuUs(p), 0)
  const extra0 = extraPid === undefined ? 0 : procCpuUs(extraPid)
  const lg0 = process.cpuUsage()
  const t0 = performance.now()
  const r = await autocannon({ url: m.url + '/api/wallet/list', headers: { 'x-api-key': key.key, 'x-tenant-id': key.tenantId }, duration: durationS, connections: 50 })
  const wallS = (performance.now() - t0) / 1000
  const lg = process.cpuUsage(lg0)
  const cpu = pids.reduce((n, p) => n + procCpuUs(p), 0) - cpu0
  const requests = r.requests.total
  return {
    rps: requests / wallS,
    requests,
    non2xx: r.non2xx + r.errors,
    serverCores: cpu / 1e6 / wallS,
    serverCpuPerReqUs: cpu / requests,
    loadgenCores: (lg.user + lg.system) / 1e6 / wallS,
    ...(extraPid === undefined ? {} : { extraCpuPerReqUs: (procCpuUs(extraPid) - extra0) / requests })
  }
}

async function newKey (m: MockProcess): Promise<{ key: string, tenantId: string }> {
  const r = await fetch(m.url + '/__harness/tenants', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rateLimit: 1_000_000_000 }) })
  const { data } = await r.json() as { data: { tenant: { id: string }, key: { key: string } } }
  return { key: data.key.key, tenantId: data.tenant.id }
}

function summarise (xs: Measured[]) {
  const pick = (f: (m: Measured) => number) => median(xs.map(f))
  const out: Record<string, number> = {
    rps: Math.round(pick((m) => m.rps)),
    serverCpuPerReqUs: pick((m) => m.serverCpuPerReqUs),
    serverCores: pick((m) => m.serverCores),
    loadgenCores: pick((m) => m.loadgenCores),
    non2xx: xs.reduce((n, m) => n + m.non2xx, 0)
  }
  if (xs[0]?.extraCpuPerReqUs !== undefined) out.redisCpuPerReqUs = pick((m) => m.extraCpuPerReqUs!)
  return out
}

async function backends () {
  if (redisServerBinary() === undefined || natsServerBinary() === undefined) return undefined
  const [redis, nats] = await Promise.all([startRedisServer(), startNatsServer()])
  return { redis, nats, stop: async () => { await Promise.all([redis.stop(), nats.stop()]) } }
}

function redisPid (port: number): number | undefined {
  try {
    const out = execFileSync('pgrep', ['-f', `redis-server .*:${port}`], { encoding: 'utf8' }).trim().split('\n')
    return out.length > 0 && out[0] !== '' ? Number(out[0]) : undefined
  } catch { return undefined }
}

export async function benchSharedState ({ rounds = 3, durationS = 5 } = {}) {
  const b = await backends()
  if (b === undefined) return { skipped: 'redis-server or nats-server not found' }
  const base: MockConfigInput = { logLevel: 'info', rateLimit: { limit: 1_000_000_000 } }
  const shared = await startMockProcess({ ...base, rateLimit: { limit: 1_000_000_000, store: b.redis.url }, state: { store: b.redis.url }, events: { backend: b.nats.url } })
  const memory = await startMockProcess(base)
  try {
    const ks = await newKey(shared)
    const km = await newKey(memory)
    const rpid = redisPid(b.redis.port)
    await measure(shared, ks, 1)
    await measure(memory, km, 1)
    const s: Measured[] = []
    const m: Measured[] = []
    for (let i = 0; i < rounds; i++) {
      m.push(await measure(memory, km, durationS))
      s.push(await measure(shared, ks, durationS, rpid))
    }
    const ss = summarise(s)
    const ms = summarise(m)
    return {
      name: 'one mock with shared state (Redis state + limiter, NATS events) vs in-memory, GET /api/wallet/list',
      shared: ss,
      memory: ms,
      cpuPerRequestRatio: ss.serverCpuPerReqUs! / ms.serverCpuPerReqUs!,
      rpsRatio: ss.rps! / ms.rps!,
      rounds,
      durationS
    }
  } finally {
    await shared.stop(); await memory.stop(); await b.stop()
  }
}

export async function benchWorkers ({ rounds = 3, durationS = 5 } = {}) {
  const b = await backends()
  if (b === undefined) return { skipped: 'redis-server or nats-server not found' }
  const config: MockConfigInput = { logLevel: 'info', rateLimit: { limit: 1_000_000_000, store: b.redis.url }, state: { store: b.redis.url }, events: { backend: b.nats.url } }
  const one = await startMockProcess(config, ['--workers', '1'])
  const two = await startMockProcess(config, ['--workers', '2'])
  try {
    const k = await newKey(one)
    await measure(one, k, 1)
    await measure(two, k, 1)
    const r1: Measured[] = []
    const r2: Measured[] = []
    for (let i = 0; i < rounds; i++) {
      r1.push(await measure(one, k, durationS))
      r2.push(await measure(two, k, durationS))
    }
    const a = summarise(r1)
    const c = summarise(r2)
    return {
      name: 'tenzro-mock --workers 2 vs --workers 1 (shared backends), GET /api/wallet/list, one autocannon process as load generator',
      workers1: a,
      workers2: c,
      rpsRatio: c.rps! / a.rps!,
      serverCoresRatio: c.serverCores! / a.serverCores!,
      cpuPerRequestRatio: c.serverCpuPerReqUs! / a.serverCpuPerReqUs!,
      note: 'on 2 cores the load generator takes the CPU shown as loadgenCores; with its share subtracted, rpsRatio over serverCoresRatio says how much of the added server CPU became throughput',
      rounds,
      durationS
    }
  } finally {
    await one.stop(); await two.stop(); await b.stop()
  }
}

/**
 * Replay on reconnect: `clients` streams reconnect at once with Last-Event-ID 0 to a tenant holding
 * `events` events, on NATS JetStream vs the memory log (one mock each, the real command). Reported:
 * median time to the first replayed event and to the last, and the mock's CPU per replayed event.
 */
export async function benchReplay ({ clients = 50, events = 1000, rounds = 3 } = {}) {
  const b = await backends()
  if (b === undefined) return { skipped: 'redis-server or nats-server not found' }
  const { openRaw } = await import('../mock-server/test/helpers/sse.ts')
  const run = async (m: MockProcess) => {
    const k = await newKey(m)
    for (let i = 0; i < events; i++) {
      await fetch(m.url + '/__harness/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: k.tenantId, type: 'wallet.updated', data: { i, note: 'x'.repeat(200) } }) })
    }
    const out: Array<{ firstMs: number, lastMs: number, cpuPerEventUs: number }> = []
    for (let r = 0; r < rounds + 1; r++) {
      const cpu0 = procCpuUs(m.child.pid!)
      const t0 = performance.now()
      const firsts: number[] = []
      const lasts: number[] = []
      await Promise.all(Array.from({ length: clients }, async () => {
        const s = await openRaw(`${m.url}/api/events/stream`, { 'x-api-key': k.key, 'x-tenant-id': k.tenantId, 'last-event-id': '0' })
        await s.waitFor((x) => x.text().includes('\ndata:'), 30_000, 'first event')
        firsts.push(performance.now() - t0)
        await s.waitFor((x) => x.text().includes(`id: ${events}\n`), 60_000, 'last event')
        lasts.push(performance.now() - t0)
        s.close()
      }))
      // The first round warms both up.
      if (r > 0) out.push({ firstMs: median(firsts), lastMs: median(lasts), cpuPerEventUs: (procCpuUs(m.child.pid!) - cpu0) / (clients * events) })
    }
    return { firstEventMs: median(out.map((x) => x.firstMs)), lastEventMs: median(out.map((x) => x.lastMs)), cpuPerEventUs: median(out.map((x) => x.cpuPerEventUs)) }
  }
  const base: MockConfigInput = { logLevel: 'warn', rateLimit: { limit: 1_000_000_000, maxStreamsPerKey: clients * 2 } }
  const nats = await startMockProcess({ ...base, events: { backend: b.nats.url } })
  const memory = await startMockProcess(base)
  try {
    const n = await run(nats)
    const m = await run(memory)
    return { name: `${clients} clients reconnecting with Last-Event-ID 0, ${events} events each`, nats: n, memory: m, cpuPerEventRatio: n.cpuPerEventUs / m.cpuPerEventUs, rounds }
  } finally {
    await nats.stop(); await memory.stop(); await b.stop()
  }
}
