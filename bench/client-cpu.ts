// The reference client's CPU cost per request. The mock runs in its own process (bench/lib.ts
// startServer), so process.cpuUsage() here is the client side alone. In the same run, alternating
// round by round, the same requests go out through bare fetch (the runtime's undici: headers, text,
// JSON.parse, no client logic) as the baseline. Reported: microseconds of CPU (user + system) per
// request for both, their difference (what the client's logic costs) and the ratio.
// Goal: <= 60 us of CPU per request for the client's logic (throttle, retry bookkeeping, spans with
// the no-op tracer, errors, ids) on top of the transport. On a shared machine the difference of two
// network runs is noisy, so the logic is also measured alone: the same client over a canned Response
// (no socket), against the same canned Response read bare.
//
// `node bench/client-cpu.ts [requests]`, or benchClientCpu() from bench/run.ts.
import { fileURLToPath } from 'node:url'
import { createTenzroClient } from '../harness/src/client/index.ts'
import { median, startServer } from './lib.ts'

export interface ClientCpuOptions {
  /** Requests per round (default 10 000; BENCH_QUICK=1: 4 000). */
  requests?: number
  /** Requests in flight at once (default 16). */
  concurrency?: number
  /** Measured rounds per side, after one warm-up round each (default 3). */
  rounds?: number
}

interface Round { cpuUs: number, wallMs: number, failures: number }

async function measure (requests: number, concurrency: number, one: () => Promise<unknown>): Promise<Round> {
  let left = requests
  let failures = 0
  async function worker (): Promise<void> {
    while (left > 0) {
      left--
      try {
        await one()
      } catch {
        failures++
      }
    }
  }
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const workers: Array<Promise<void>> = []
  for (let i = 0; i < concurrency; i++) workers.push(worker())
  await Promise.all(workers)
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return { cpuUs: cpu.user + cpu.system, wallMs, failures }
}

/** The client's own work per request, without a socket: a canned 200 with rate-limit headers. */
async function isolated (requests: number): Promise<{ clientUs: number, bareUs: number }> {
  const body = JSON.stringify({ data: [{ id: 'wal_0000000000000000', name: 'w', type: 'mpc', chain: 'ethereum', address: '0x0', createdAt: '2026-01-01T00:00:00.000Z' }], meta: { requestId: 'r', timestamp: '2026-01-01T00:00:00.000Z', cursor: null, hasMore: false } })
  const headers = new Headers({ 'content-type': 'application/json', 'x-ratelimit-limit': '1000000000', 'x-ratelimit-remaining': '999999999', 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600) })
  const canned = { status: 200, headers, text: async () => body } as unknown as Response
  const fetch = async () => canned
  const client = createTenzroClient({ baseUrl: 'http://127.0.0.1:4010', apiKey: 'tnz_bench_' + 'B'.repeat(43), tenantId: 'bench', limit: { limit: 1_000_000, windowMs: 60_000 }, fetch })
  const bare = async () => {
    const res = await fetch()
    const text = await res.text()
    if (res.status !== 200) throw new Error(String(res.status))
    return JSON.parse(text)
  }
  const viaClient = () => client.wallets.list()
  await measure(requests, 1, bare)
  await measure(requests, 1, viaClient)
  const b: number[] = []
  const c: number[] = []
  for (let i = 0; i < 3; i++) {
    b.push((await measure(requests, 1, bare)).cpuUs / requests)
    c.push((await measure(requests, 1, viaClient)).cpuUs / requests)
  }
  return { clientUs: median(c), bareUs: median(b) }
}

export async function benchClientCpu (opts: ClientCpuOptions = {}): Promise<Record<string, unknown>> {
  const quick = process.env.BENCH_QUICK === '1'
  const requests = opts.requests ?? (quick ? 4000 : 10_000)
  const concurrency = opts.concurrency ?? 16
  const rounds = opts.rounds ?? (quick ? 1 : 3)
  const server = await startServer({ kind: 'mock', config: { logLevel: 'silent', rateLimit: { limit: 1_000_000_000 } } })
  try {
    const url = server.url + '/api/wallet/list'
    const headers = { 'x-api-key': server.key, 'x-tenant-id': server.tenantId, accept: 'application/json' }
    const init: RequestInit = { method: 'GET', headers }
    // The baseline: what any caller must do anyway. A 2xx check, the body, the JSON.
    const bare = async () => {
      const res = await fetch(url, init)
      const text = await res.text()
      if (res.status !== 200) throw new Error(String(res.status))
      return JSON.parse(text)
    }
    // The client as an integration would configure it: told its limit (generous here, so it never
    // waits), default retry policy, the API's no-op tracer, no logger.
    const client = createTenzroClient({ baseUrl: server.url, apiKey: server.key, tenantId: server.tenantId, limit: { limit: 1_000_000, windowMs: 60_000 } })
    const viaClient = () => client.wallets.list()

    await measure(Math.min(2000, requests), concurrency, bare)
    await measure(Math.min(2000, requests), concurrency, viaClient)
    const b: Round[] = []
    const c: Round[] = []
    for (let i = 0; i < rounds; i++) {
      b.push(await measure(requests, concurrency, bare))
      c.push(await measure(requests, concurrency, viaClient))
    }
    const perReq = (r: Round[]) => median(r.map((x) => x.cpuUs / requests))
    const rps = (r: Round[]) => median(r.map((x) => requests / (x.wallMs / 1000)))
    const clientUs = perReq(c)
    const baselineUs = perReq(b)
    const overheadUs = clientUs - baselineUs
    const alone = await isolated(requests * 2)
    const logicUs = alone.clientUs - alone.bareUs
    return {
      name: 'client CPU per request: reference client vs bare fetch, GET /api/wallet/list',
      requests,
      concurrency,
      rounds,
      clientCpuUsPerRequest: round1(clientUs),
      baselineCpuUsPerRequest: round1(baselineUs),
      clientMinusBaselineUsPerRequest: round1(overheadUs),
      ratio: clientUs / baselineUs,
      clientLogicAloneUsPerRequest: round1(logicUs),
      clientRps: Math.round(rps(c)),
      baselineRps: Math.round(rps(b)),
      failures: c.reduce((n, x) => n + x.failures, 0) + b.reduce((n, x) => n + x.failures, 0),
      goal: '<= 60 us CPU per request for the client logic (clientMinusBaselineUsPerRequest over the network; clientLogicAloneUsPerRequest without it)',
      pass: overheadUs <= 60 && logicUs <= 60
    }
  } finally {
    await server.stop()
  }
}

function round1 (x: number): number {
  return Math.round(x * 10) / 10
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const n = process.argv[2] === undefined ? undefined : Number(process.argv[2])
  const result = await benchClientCpu(n === undefined || !Number.isFinite(n) ? {} : { requests: n })
  process.stdout.write(JSON.stringify(result, null, 2) + '\n')
}
