// Shared benchmark plumbing: servers in child processes, autocannon load, alternating rounds, ratios.
// Figures are always reported as ratios against a baseline measured side by side in the same run.
import { fork, type ChildProcess } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import type { MockConfigInput } from '../mock-server/src/config.ts'

export interface ServerSpec {
  kind: 'mock' | 'bare'
  config?: MockConfigInput
  logFile?: string
  env?: Record<string, string>
  execArgv?: string[]
  /** V8's string hash seed (--hash-seed); random per process when absent, as Node does. */
  hashSeed?: number
}
/** CPU the server has used so far: the whole process, and its main thread alone (the request path's own, without GC helpers, workers or the log's I/O). */
export interface CpuSample { cpuUs: number, mainUs: number }
export interface RunningServer { url: string, key: string, tenantId: string, child: ChildProcess, stop (): Promise<void>, rss (): Promise<number>, cpuUs (): Promise<number>, cpu (): Promise<CpuSample> }

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url))

/** One question to a bench server over IPC; an error, not a silent hang, when it does not answer in 30 s. */
function ask<T> (child: ChildProcess, question: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { child.off('message', answer); reject(new Error(`bench server (pid ${child.pid}) did not answer '${question}' in 30 s`)) }, 30_000)
    function answer (m: unknown): void { clearTimeout(timer); resolve(m as T) }
    child.once('message', answer)
    child.send(question)
  })
}

export async function startServer (spec: ServerSpec, script = SERVER): Promise<RunningServer> {
  // Mock servers run with the flags the tenzro-mock command uses (bin/tenzro-mock.js).
  const execArgv = [...(spec.execArgv ?? (spec.kind === 'mock' ? ['--max-semi-space-size=8'] : [])), ...(spec.hashSeed === undefined ? [] : [`--hash-seed=${spec.hashSeed}`])]
  const child = fork(script, [JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...spec.env }, execArgv })
  const first = await new Promise<{ port: number, key: string, tenantId: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { port: number, key: string, tenantId: string }))
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code} before listening`)))
  })
  const cpu = () => ask<CpuSample>(child, 'cpu')
  return {
    url: `http://127.0.0.1:${first.port}`,
    key: first.key,
    tenantId: first.tenantId,
    child,
    cpuUs: async () => (await cpu()).cpuUs,
    cpu,
    rss: async () => (await ask<{ rss: number }>(child, 'rss')).rss,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) { resolve(); return }
      child.once('exit', () => resolve())
      child.send('exit')
    })
  }
}

/** The key headers of a bench server's own key. */
export function keyHeaders (s: RunningServer): Record<string, string> {
  return { 'x-api-key': s.key, 'x-tenant-id': s.tenantId }
}

export interface LoadResult { rps: number, p99Ms: number, non2xx: number, errors: number }

export async function load (url: string, { headers = {}, durationS = 5, connections = 50 }: { headers?: Record<string, string>, durationS?: number, connections?: number } = {}): Promise<LoadResult> {
  const r = await autocannon({ url, headers, duration: durationS, connections, pipelining: 1 })
  return { rps: r.requests.average, p99Ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors }
}

export function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/**
 * Round `round` of a side-by-side measurement: both runs, the baseline first in even rounds and the
 * candidate first in odd ones; results in argument order. On this machine the second load of a pair
 * ran up to ~8 % faster in A/A runs of one build against itself, so a fixed order favours one side.
 */
export async function inTurn<T> (round: number, baseline: () => Promise<T>, candidate: () => Promise<T>): Promise<[T, T]> {
  if (round % 2 === 0) {
    const b = await baseline()
    return [b, await candidate()]
  }
  const c = await candidate()
  return [await baseline(), c]
}

/**
 * Alternate the candidate and the baseline round by round (so drift on a shared machine hits both),
 * after one warm-up round each, and report medians and their ratio. Which goes first swaps every
 * round (inTurn).
 */
export async function compare (name: string, candidate: RunningServer, baseline: RunningServer, { rounds = 3, durationS = 5, path = '/api/wallet/list', connections = 50 } = {}) {
  await load(candidate.url + path, { headers: keyHeaders(candidate), durationS: 1, connections })
  await load(baseline.url + path, { headers: keyHeaders(baseline), durationS: 1, connections })
  const c: LoadResult[] = []
  const b: LoadResult[] = []
  for (let i = 0; i < rounds; i++) {
    const [rb, rc] = await inTurn(i, () => load(baseline.url + path, { headers: keyHeaders(baseline), durationS, connections }), () => load(candidate.url + path, { headers: keyHeaders(candidate), durationS, connections }))
    b.push(rb)
    c.push(rc)
  }
  const cr = median(c.map((x) => x.rps))
  const br = median(b.map((x) => x.rps))
  const bad = c.reduce((n, x) => n + x.non2xx + x.errors, 0) + b.reduce((n, x) => n + x.non2xx + x.errors, 0)
  return { name, candidateRps: Math.round(cr), baselineRps: Math.round(br), ratio: cr / br, rounds, durationS, non2xxOrErrors: bad }
}

/** One load of a paired comparison: throughput and the server's CPU per request. */
export interface Measured { rps: number, cpuUsPerRequest: number, mainUsPerRequest: number, bad: number }

/** Load `s` for `durationS` and read its CPU before and after. */
export async function measure (s: RunningServer, { durationS = 2, path = '/api/wallet/list', connections = 50 } = {}): Promise<Measured> {
  const before = await s.cpu()
  const r = await load(s.url + path, { headers: keyHeaders(s), durationS, connections })
  const after = await s.cpu()
  const n = Math.max(1, r.rps * durationS)
  return { rps: r.rps, cpuUsPerRequest: (after.cpuUs - before.cpuUs) / n, mainUsPerRequest: (after.mainUs - before.mainUs) / n, bad: r.non2xx + r.errors }
}

/** 95 % bootstrap interval of the median of `xs` (percentile method, `resamples` draws). */
export function medianInterval (xs: number[], resamples = 2000): [number, number] {
  if (xs.length === 0) return [Number.NaN, Number.NaN]
  const meds: number[] = []
  const draw = new Array<number>(xs.length)
  for (let i = 0; i < resamples; i++) {
    for (let j = 0; j < xs.length; j++) draw[j] = xs[randomInt(xs.length)]!
    meds.push(median(draw))
  }
  meds.sort((a, b) => a - b)
  return [meds[Math.floor(resamples * 0.025)]!, meds[Math.ceil(resamples * 0.975) - 1]!]
}

export interface PairedOptions {
  /** Fresh pairs of processes. */
  pairs?: number
  /** Rounds per pair, each loading both servers once (which goes first swaps, inTurn). */
  rounds?: number
  durationS?: number
  path?: string
  connections?: number
  /** Started with each pair (a scraper, say); the function it returns stops it. */
  beside?: (candidate: RunningServer, baseline: RunningServer) => () => void
  /** After each pair's last round, before its servers stop. */
  after?: (candidate: RunningServer, baseline: RunningServer) => Promise<void>
}

/**
 * Candidate vs baseline over many fresh pairs of processes. Two processes of one build differ by up to
 * +-15 % in throughput and in CPU per request here, and a process keeps its luck for its whole life
 * (code placement, and V8's random string hash seed: with one seed shared, two instances of one build
 * came within 1.5 % of each other, with random seeds 0.96-1.18 per pair). More rounds on one pair of
 * processes cannot average that out; more pairs can. So each pair is started fresh with a hash seed
 * of its own, shared by both servers (they start in alternating order), and measured in `rounds`
 * short rounds; the figure is the median over pairs of each pair's candidate/baseline throughput ratio,
 * with a 95 % bootstrap interval of that median.
 */
export async function comparePaired (name: string, candidate: ServerSpec, baseline: ServerSpec, { pairs = 12, rounds = 2, durationS = 1.5, path = '/api/wallet/list', connections = 50, beside, after }: PairedOptions = {}) {
  const ratios: number[] = []
  const mainRatios: number[] = []
  const cpuRatios: number[] = []
  const seeds: number[] = []
  const rps = { candidate: [] as number[], baseline: [] as number[] }
  let bad = 0
  for (let p = 0; p < pairs; p++) {
    const hashSeed = randomInt(1, 2 ** 31 - 1)
    seeds.push(hashSeed)
    const [b, c] = await inTurn(p, () => startServer({ ...baseline, hashSeed }), () => startServer({ ...candidate, hashSeed }))
    const stop = beside?.(c, b)
    try {
      const warmUp = { durationS: 1, path, connections }
      await inTurn(p, () => measure(b, warmUp), () => measure(c, warmUp))
      const each = { durationS, path, connections }
      const mb: Measured[] = []
      const mc: Measured[] = []
      for (let r = 0; r < rounds; r++) {
        const [x, y] = await inTurn(p + r, () => measure(b, each), () => measure(c, each))
        mb.push(x)
        mc.push(y)
      }
      const sum = (ms: Measured[], f: (m: Measured) => number) => ms.reduce((n, m) => n + f(m), 0)
      const cRps = sum(mc, (m) => m.rps)
      const bRps = sum(mb, (m) => m.rps)
      ratios.push(cRps / bRps)
      mainRatios.push(sum(mb, (m) => m.mainUsPerRequest) / sum(mc, (m) => m.mainUsPerRequest))
      cpuRatios.push(sum(mb, (m) => m.cpuUsPerRequest) / sum(mc, (m) => m.cpuUsPerRequest))
      rps.candidate.push(cRps / rounds)
      rps.baseline.push(bRps / rounds)
      bad += sum(mb, (m) => m.bad) + sum(mc, (m) => m.bad)
      await after?.(c, b)
      process.stderr.write(`  pair ${p + 1}/${pairs}: ${ratios.at(-1)!.toFixed(3)}\n`)
    } finally {
      stop?.()
      await c.stop()
      await b.stop()
    }
  }
  const round3 = (x: number) => Math.round(x * 1000) / 1000
  return {
    name,
    candidateRps: Math.round(median(rps.candidate)),
    baselineRps: Math.round(median(rps.baseline)),
    ratio: median(ratios),
    ratioInterval95: medianInterval(ratios).map(round3),
    pairRatios: ratios.map(round3),
    // Each server's CPU per request, baseline / candidate: the cost without the scheduling of two
    // servers and the load generator on two cores (main thread alone: the request path's own).
    mainCpuRatio: median(mainRatios),
    cpuRatio: median(cpuRatios),
    pairs,
    rounds,
    durationS,
    hashSeeds: seeds,
    non2xxOrErrors: bad
  }
}
