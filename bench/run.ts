// `npm run bench [-- name...]`: every benchmark of the project, each reported as a ratio against a
// baseline measured side by side in the same run (never an absolute time alone). Results are printed
// and written to reports/bench.json. Names: wallet-list, limiter, limiter-redis, record-rss, metrics, tracing,
// sse, scan, shedding, client-cpu, shared-state, workers, nats-replay; soak and fuzz run only when named.
// BENCH_QUICK=1 shortens rounds (for a smoke run, not for figures); BENCH_ROUNDS and BENCH_DURATION_S set
// them (more, shorter alternating rounds average out a busy machine); BENCH_PAIRS, BENCH_PAIR_ROUNDS and
// BENCH_PAIR_DURATION_S those of the benches measured over fresh process pairs (wallet-list, limiter, metrics).
import { mkdirSync, writeFileSync } from 'node:fs'
import { compare, comparePaired, load, startServer } from './lib.ts'

const quick = process.env.BENCH_QUICK === '1'
const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3))
const durationS = Number(process.env.BENCH_DURATION_S ?? (quick ? 2 : 5))
const HIGH = { rateLimit: { limit: 1_000_000_000 } }
// Paired benches (comparePaired): BENCH_PAIRS fresh process pairs of BENCH_PAIR_ROUNDS rounds of BENCH_PAIR_DURATION_S.
const pairs = Number(process.env.BENCH_PAIRS ?? (quick ? 2 : 16))
const pairRounds = Number(process.env.BENCH_PAIR_ROUNDS ?? 2)
const pairDurationS = Number(process.env.BENCH_PAIR_DURATION_S ?? (quick ? 1 : 1.5))
const scrapeBoth = process.env.BENCH_SCRAPE_BOTH !== '0'

type Bench = () => Promise<object>

const benches: Record<string, Bench> = {
  /** GET /api/wallet/list on the default mock (auth, record, logging on; limit high) vs bare Fastify. Goal >= 0.65. */
  async 'wallet-list' () {
    return { ...await comparePaired('mock vs bare Fastify, GET /api/wallet/list', { kind: 'mock', config: HIGH }, { kind: 'bare' }, { pairs, rounds: pairRounds, durationS: pairDurationS }), goal: '>= 0.65 (median over pairs)' }
  },

  /** Limiter on (memory store, limit high) vs the same mock with the limiter off. Goal >= 0.90. */
  async limiter () {
    return { ...await comparePaired('limiter on vs off', { kind: 'mock', config: HIGH }, { kind: 'mock', config: { rateLimit: { enabled: false } } }, { pairs, rounds: pairRounds, durationS: pairDurationS }), goal: '>= 0.90 (median over pairs)' }
  },

  /** Redis store vs memory store (reported, no goal). Needs redis-server. */
  async 'limiter-redis' () {
    const { startRedis } = await import('../mock-server/test/helpers/redis.ts')
    const redis = await startRedis()
    if (redis === undefined) return { skipped: 'redis-server not found' }
    const r = await startServer({ kind: 'mock', config: { rateLimit: { limit: 1_000_000_000, store: redis.url } } })
    const m = await startServer({ kind: 'mock', config: HIGH })
    try {
      return { ...await compare('redis store vs memory store', r, m, { rounds, durationS }) }
    } finally { await r.stop(); await m.stop(); await redis.stop() }
  },

  /** The record stays bounded: 1,000,000 requests leave RSS within 200 MB of where it started. */
  async 'record-rss' () {
    const total = quick ? 100_000 : 1_000_000
    const mock = await startServer({ kind: 'mock', config: HIGH })
    try {
      const hdr = { 'x-api-key': mock.key, 'x-tenant-id': mock.tenantId }
      await load(mock.url + '/api/wallet/list', { headers: hdr, durationS: 1 })
      const before = await mock.rss()
      const autocannon = (await import('autocannon')).default
      await autocannon({ url: mock.url + '/api/wallet/list', headers: hdr, amount: total, connections: 50 })
      const after = await mock.rss()
      return { name: `RSS growth over ${total.toLocaleString('en')} requests`, requests: total, rssBeforeMb: mb(before), rssAfterMb: mb(after), growthMb: mb(after - before), goal: '<= 200 MB growth' }
    } finally { await mock.stop() }
  },

  /**
   * Metrics on (every request counted, timed and labelled, /metrics scraped once a second as
   * Prometheus would) vs the same mock with metrics off. Goal >= 0.95. Measured over many fresh pairs
   * of processes (comparePaired: one process's own luck moves it +-15 % here), with the median's 95 %
   * interval; beside the throughput ratio, the servers' own CPU per request (off / on).
   */
  async metrics () {
    let counted = 0
    const result = await comparePaired('metrics on (scraped every 1 s) vs metrics off, GET /api/wallet/list',
      { kind: 'mock', config: { ...HIGH, metrics: { enabled: true } } },
      { kind: 'mock', config: { ...HIGH, metrics: { enabled: false } } },
      {
        pairs,
        rounds: pairRounds,
        durationS: pairDurationS,
        // Both servers get the scrape (metrics off answers it 404, through the same pipeline): the same
        // request stream, so the difference is what metrics cost. A server asked for another route
        // once a second runs a few % slower than one that only ever serves the wallet list, metrics
        // or not (/health pinged on the metrics side alone: 0.953; /metrics on both: 0.996).
        // BENCH_SCRAPE_BOTH=0 scrapes the metrics side alone, to see that effect.
        beside: (on, off) => {
          const scrape = () => {
            for (const s of scrapeBoth ? [on, off] : [on]) fetch(s.url + '/metrics', { headers: { accept: 'application/openmetrics-text; version=1.0.0' } }).then((r) => r.arrayBuffer(), () => {})
          }
          const t = setInterval(scrape, 1000)
          return () => clearInterval(t)
        },
        // The metrics did count: what the last pair's /metrics says of the wallet list's 200s.
        after: async (on) => {
          const body = await (await fetch(on.url + '/metrics')).text()
          counted = [...body.matchAll(/^tenzro_mock_http_requests_total\{route="\/api\/wallet\/list"[^}]*status="200"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0)
        }
      })
    return { ...result, scraped: scrapeBoth ? 'both' : 'metrics on only', goal: '>= 0.95 (median over pairs)', walletListRequestsCounted: counted }
  },

  async tracing () {
    const mod = await import('./tracing.ts').catch(() => undefined)
    if (mod === undefined) return { skipped: 'bench/tracing.ts not present' }
    return await mod.benchTracing({ rounds, durationS })
  },

  async sse () {
    const mod = await import('./sse.ts').catch(() => undefined)
    if (mod === undefined) return { skipped: 'bench/sse.ts not present' }
    return await mod.benchSse(quick ? { streams: 200, durationS: 5 } : {})
  },

  async scan () {
    const mod = await import('./scan.ts').catch(() => undefined)
    if (mod === undefined) return { skipped: 'bench/scan.ts not present' }
    return await mod.benchScan()
  },

  async shedding () {
    const { benchShedding } = await import('./shedding.ts')
    return await benchShedding(quick ? { durationS: 5, rounds: 1 } : {})
  },

  /** The 30-minute soak (bench/soak.ts); SOAK_MINUTES shortens it. Not in the default set: run it by name. */
  async soak () {
    const { benchSoak } = await import('./soak.ts')
    return await benchSoak(quick ? { minutes: 2 } : {})
  },

  /** The fuzz suite at length: FUZZ_RUNS cases (default 200,000) on FUZZ_SEED. */
  async fuzz () {
    const { runFuzz } = await import('../mock-server/test/fuzz/run.ts')
    const r = await runFuzz({ numRuns: Number(process.env.FUZZ_RUNS ?? (quick ? 20_000 : 200_000)), seed: Number(process.env.FUZZ_SEED ?? Date.now() % 1e9) })
    return { ...r, failures: r.failures.slice(0, 20), leaks: r.leaks.slice(0, 20) }
  },

  /** One mock with shared state (Redis, NATS) vs in-memory: CPU per request (reported, no goal). Needs redis-server and nats-server. */
  async 'shared-state' () {
    return await (await import('./scale.ts')).benchSharedState({ rounds, durationS })
  },

  /** tenzro-mock --workers 2 vs 1 on the shared backends, with the load generator's CPU reported (no goal). */
  async workers () {
    return await (await import('./scale.ts')).benchWorkers({ rounds, durationS })
  },

  /** 50 clients reconnecting with Last-Event-ID 0: NATS JetStream vs memory log, time to first event and CPU per replayed event (reported). */
  async 'nats-replay' () {
    return await (await import('./scale.ts')).benchReplay(quick ? { rounds: 1, events: 200 } : {})
  },

  async 'client-cpu' () {
    const mod = await import('./client-cpu.ts').catch(() => undefined)
    if (mod === undefined) return { skipped: 'bench/client-cpu.ts not present' }
    return await mod.benchClientCpu()
  }
}

function mb (bytes: number): number {
  return Math.round(bytes / 1024 / 1024 * 10) / 10
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const unknown = wanted.filter((n) => !(n in benches))
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark(s) ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}\n`)
  process.exit(2)
}
const results: Record<string, unknown> = {}
// The soak and the long fuzz run for minutes: only when named.
for (const name of wanted.length > 0 ? wanted : Object.keys(benches).filter((b) => b !== 'soak' && b !== 'fuzz')) {
  process.stderr.write(`bench: ${name} ...\n`)
  try {
    results[name] = await benches[name]!()
  } catch (err) {
    results[name] = { error: (err as Error).message }
  }
  process.stdout.write(`${name}: ${JSON.stringify(results[name], (_k, v) => typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v)}\n`)
}
mkdirSync('reports', { recursive: true })
writeFileSync('reports/bench.json', JSON.stringify({ at: new Date().toISOString(), node: process.version, quick, results }, null, 2))
process.stdout.write('bench: wrote reports/bench.json\n')
