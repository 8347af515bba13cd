// `npm run bench [-- name...]`: every benchmark of the project, each reported as a ratio against a
// baseline measured side by side in the same run (never an absolute time alone). Results are printed
// and written to reports/bench.json. Names: wallet-list, limiter, limiter-redis, record-rss, tracing,
// sse, scan, client-cpu. BENCH_QUICK=1 shortens rounds (for a smoke run, not for figures).
import { mkdirSync, writeFileSync } from 'node:fs'
import { compare, load, startServer } from './lib.ts'

const quick = process.env.BENCH_QUICK === '1'
const rounds = quick ? 1 : 3
const durationS = quick ? 2 : 5
const HIGH = { rateLimit: { limit: 1_000_000_000 } }

type Bench = () => Promise<object>

const benches: Record<string, Bench> = {
  /** GET /api/wallet/list on the default mock (auth, record, logging on; limit high) vs bare Fastify. Goal >= 0.65. */
  async 'wallet-list' () {
    const mock = await startServer({ kind: 'mock', config: HIGH })
    const bare = await startServer({ kind: 'bare' })
    try {
      return { ...await compare('mock vs bare Fastify, GET /api/wallet/list', mock, bare, { rounds, durationS }), goal: '>= 0.65' }
    } finally { await mock.stop(); await bare.stop() }
  },

  /** Limiter on (memory store, limit high) vs the same mock with the limiter off. Goal >= 0.90. */
  async limiter () {
    const on = await startServer({ kind: 'mock', config: HIGH })
    const off = await startServer({ kind: 'mock', config: { rateLimit: { enabled: false } } })
    try {
      return { ...await compare('limiter on vs off', on, off, { rounds, durationS }), goal: '>= 0.90' }
    } finally { await on.stop(); await off.stop() }
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
for (const name of wanted.length > 0 ? wanted : Object.keys(benches)) {
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
