// `node bench/limiter-runs.ts [runs] [variant...]`: the limiter's exactness under concurrency (contract
// 5.4). Per seeded run, 200 concurrent clients, each on its own socket, send 2L requests for
// one key within one window (the clock is frozen through deps.now); exactly L must be admitted and L
// refused with 429, every response must carry consistent X-RateLimit-* headers, every 429 an honest
// Retry-After >= 1. Variants: each algorithm on the memory store, the Redis store (algorithm chosen
// by the seed), and two mock instances sharing one Redis. Default 100 runs per variant; the test
// suite runs 3 of them (mock-server/test/rate-limit-concurrency.test.ts).
import { mkdirSync, writeFileSync } from 'node:fs'
import { Client } from 'undici'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../mock-server/src/app.ts'
import { resolveConfig } from '../mock-server/src/config.ts'
import { createRandom, deriveRandom } from '../mock-server/src/domain/random.ts'
import type { Algorithm } from '../mock-server/src/domain/limiter/types.ts'

export const VARIANTS = ['fixed-window', 'sliding-window', 'token-bucket', 'redis', 'redis-two-instances'] as const
export type Variant = typeof VARIANTS[number]
const ALGORITHMS: Algorithm[] = ['fixed-window', 'sliding-window', 'token-bucket']

export interface TrialResult {
  seed: number
  algorithm: Algorithm
  instances: number
  limit: number
  requests: number
  admitted: number
  refused: number
  /** Anything that is not exactly right, as sentences; empty when the run passed. */
  problems: string[]
  ms: number
}

interface Target { app: FastifyInstance, url: string }

/** One run: 200 clients, 2L requests, spread over the targets (one app, or two sharing a store). */
export async function runTrial (targets: Target[], { seed, algorithm, clients = 200 }: { seed: number, algorithm: Algorithm, clients?: number }): Promise<TrialResult> {
  const random = createRandom(seed)
  const limit = 100 + Math.floor(random() * 101)
  const total = 2 * limit
  // The same key in every instance: created in the first, imported into the others, where the seeded
  // id generator gives it the same id (so the instances share one bucket).
  const first = targets[0]!.app
  const tenant = first.mock.keys.tenant('acme')!
  const created = first.mock.keys.createKey(tenant, { rateLimit: limit, name: `trial-${seed}` })
  for (const t of targets.slice(1)) {
    const other = t.app.mock.keys.importKey(t.app.mock.keys.tenant('acme')!, created.key, { rateLimit: limit, name: `trial-${seed}` })
    if (other.id !== created.record.id) throw new Error(`instances disagree on the key id (${other.id} vs ${created.record.id}); build them from the same config`)
  }
  const headers = { 'x-api-key': created.key, 'x-tenant-id': tenant.id }

  // Seeded spread: every client gets its share, the remainder goes to random clients; each request
  // waits a seeded 0-2 ms first, so interleavings differ from run to run.
  const perClient = new Array<number>(clients).fill(Math.floor(total / clients))
  for (let r = total - perClient[0]! * clients; r > 0; r--) perClient[Math.floor(random() * clients)]!++
  const jitter = deriveRandom(seed, 'jitter')

  const problems: string[] = []
  const remainingSeen: number[] = []
  let admitted = 0
  let refused = 0
  const started = performance.now()
  const pool = perClient.map((_n, i) => new Client(targets[i % targets.length]!.url, { pipelining: 1 }))
  try {
    await Promise.all(pool.map(async (client, i) => {
      for (let n = perClient[i]!; n > 0; n--) {
        const delay = Math.floor(jitter() * 3)
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
        const res = await client.request({ path: '/api/wallet/list?limit=1', method: 'GET', headers })
        const h = res.headers
        const lim = Number(h['x-ratelimit-limit'])
        const rem = Number(h['x-ratelimit-remaining'])
        const reset = Number(h['x-ratelimit-reset'])
        if (lim !== limit || !Number.isInteger(rem) || rem < 0 || rem >= limit || !Number.isInteger(reset)) {
          problems.push(`status ${res.statusCode} had X-RateLimit-Limit ${h['x-ratelimit-limit']}, -Remaining ${h['x-ratelimit-remaining']}, -Reset ${h['x-ratelimit-reset']}`)
        }
        if (res.statusCode === 200) {
          admitted++
          remainingSeen.push(rem)
          await res.body.dump()
        } else if (res.statusCode === 429) {
          refused++
          const body = await res.body.json() as { error?: { code?: string, details?: Array<{ field: string, message: string }> } }
          const ra = Number(h['retry-after'])
          if (!Number.isInteger(ra) || ra < 1) problems.push(`a 429 had Retry-After ${String(h['retry-after'])}`)
          if (rem !== 0) problems.push(`a 429 had X-RateLimit-Remaining ${rem}`)
          if (body.error?.code !== 'rate_limited' || body.error.details?.[0]?.field !== 'retryAfter' || body.error.details[0].message !== String(ra)) {
            problems.push(`a 429 body was ${JSON.stringify(body)}`)
          }
        } else {
          problems.push(`unexpected status ${res.statusCode}`)
          await res.body.dump()
        }
      }
    }))
  } finally {
    await Promise.all(pool.map((c) => c.close()))
  }
  if (admitted !== limit) problems.push(`admitted ${admitted}, want exactly ${limit}`)
  if (refused !== total - limit) problems.push(`refused ${refused}, want exactly ${total - limit}`)
  // Each admitted request saw its own Remaining: L-1 down to 0, each exactly once (no lost update).
  remainingSeen.sort((a, b) => b - a)
  if (remainingSeen.some((r, i) => r !== limit - 1 - i)) problems.push('the admitted responses did not count Remaining down L-1..0 exactly once each')
  return { seed, algorithm, instances: targets.length, limit, requests: total, admitted, refused, problems: problems.slice(0, 10), ms: Math.round(performance.now() - started) }
}

export interface VariantOptions {
  runs: number
  seedBase?: number
  /** Needed by the Redis variants. */
  redisUrl?: string
  onTrial?: (r: TrialResult) => void
}

/** Build the app(s) of a variant once, then run `runs` seeded trials against them. */
export async function runVariant (variant: Variant, { runs, seedBase = 1, redisUrl, onTrial }: VariantOptions): Promise<TrialResult[]> {
  const redis = variant === 'redis' || variant === 'redis-two-instances'
  if (redis && redisUrl === undefined) throw new Error(`variant ${variant} needs a redis URL`)
  const instances = variant === 'redis-two-instances' ? 2 : 1
  const byAlgorithm = new Map<Algorithm, Target[]>()
  // Each variant gets its own config seed, hence its own key ids, so variants never share a bucket.
  const configSeed = 1000 + VARIANTS.indexOf(variant)
  // One frozen instant per variant, inside a window: "within one window" holds however long a run takes.
  const frozen = 1_800_000_000_000 + VARIANTS.indexOf(variant) * 7_919
  async function targetsFor (algorithm: Algorithm): Promise<Target[]> {
    let t = byAlgorithm.get(algorithm)
    if (t !== undefined) return t
    t = []
    for (let i = 0; i < instances; i++) {
      const config = resolveConfig({
        seed: configSeed,
        logLevel: 'silent',
        walletsPerTenant: 3,
        rateLimit: { algorithm, store: redis ? redisUrl! : 'memory', windowMs: 60_000 }
      })
      const app = await buildApp(config, { now: () => frozen })
      await app.listen({ host: '127.0.0.1', port: 0 })
      const addr = app.server.address()
      t.push({ app, url: `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}` })
    }
    byAlgorithm.set(algorithm, t)
    return t
  }
  const results: TrialResult[] = []
  try {
    for (let i = 0; i < runs; i++) {
      const seed = seedBase + i
      const algorithm = redis ? ALGORITHMS[seed % 3]! : variant as Algorithm
      const r = await runTrial(await targetsFor(algorithm), { seed, algorithm })
      results.push(r)
      onTrial?.(r)
    }
  } finally {
    for (const ts of byAlgorithm.values()) for (const t of ts) await t.app.close()
  }
  return results
}

async function main (): Promise<number> {
  const args = process.argv.slice(2)
  const runs = args[0] !== undefined && /^\d+$/.test(args[0]) ? Number(args.shift()) : 100
  const wanted = (args.length > 0 ? args : [...VARIANTS]) as Variant[]
  const unknown = wanted.filter((v) => !(VARIANTS as readonly string[]).includes(v))
  if (unknown.length > 0) {
    process.stderr.write(`limiter-runs: unknown variant(s) ${unknown.join(', ')}; known: ${VARIANTS.join(', ')}\n`)
    return 2
  }
  let redis: { url: string, stop (): Promise<void> } | undefined
  if (wanted.some((v) => v.startsWith('redis'))) {
    const { startRedis } = await import('../mock-server/test/helpers/redis.ts')
    redis = await startRedis()
    if (redis === undefined) process.stderr.write('limiter-runs: redis-server not found; skipping the Redis variants\n')
  }
  const summary: Record<string, unknown> = {}
  let failed = 0
  try {
    for (const variant of wanted) {
      if (variant.startsWith('redis') && redis === undefined) { summary[variant] = { skipped: 'redis-server not found' }; continue }
      const t0 = performance.now()
      const results = await runVariant(variant, {
        runs,
        ...(redis === undefined ? {} : { redisUrl: redis.url }),
        onTrial (r) {
          if (r.problems.length > 0) process.stderr.write(`  ${variant} seed ${r.seed} (${r.algorithm}, L=${r.limit}): ${r.problems.join('; ')}\n`)
        }
      })
      const bad = results.filter((r) => r.problems.length > 0)
      failed += bad.length
      summary[variant] = {
        runs: results.length,
        exact: results.length - bad.length,
        failedSeeds: bad.map((r) => r.seed),
        requests: results.reduce((n, r) => n + r.requests, 0),
        seconds: Math.round((performance.now() - t0) / 100) / 10
      }
      process.stdout.write(`${variant}: ${results.length - bad.length}/${results.length} runs admitted exactly L of 2L (${JSON.stringify(summary[variant])})\n`)
    }
  } finally {
    await redis?.stop()
  }
  mkdirSync('reports', { recursive: true })
  writeFileSync('reports/limiter-runs.json', JSON.stringify({ at: new Date().toISOString(), node: process.version, runs, summary }, null, 2))
  process.stdout.write(failed === 0 ? 'limiter-runs: every run exact; wrote reports/limiter-runs.json\n' : `limiter-runs: ${failed} run(s) not exact; wrote reports/limiter-runs.json\n`)
  return failed === 0 ? 0 : 1
}

if (import.meta.main) process.exitCode = await main()
