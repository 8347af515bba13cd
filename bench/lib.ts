// Shared benchmark plumbing: servers in child processes, autocannon load, alternating rounds, ratios.
// Figures are always reported as ratios against a baseline measured side by side in the same run.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import type { MockConfigInput } from '../mock-server/src/config.ts'

export interface ServerSpec { kind: 'mock' | 'bare', config?: MockConfigInput, logFile?: string, env?: Record<string, string>, execArgv?: string[] }
/** CPU the server has used so far: the whole process, and its main thread alone (the request path's own, without GC helpers, workers or the log's I/O). */
export interface CpuSample { cpuUs: number, mainUs: number }
export interface RunningServer { url: string, key: string, tenantId: string, child: ChildProcess, stop (): Promise<void>, rss (): Promise<number>, cpuUs (): Promise<number>, cpu (): Promise<CpuSample> }

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url))

export async function startServer (spec: ServerSpec, script = SERVER): Promise<RunningServer> {
  // Mock servers run with the flags the tenzro-mock command uses (bin/tenzro-mock.js).
  const execArgv = spec.execArgv ?? (spec.kind === 'mock' ? ['--max-semi-space-size=8'] : [])
  const child = fork(script, [JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...spec.env }, execArgv })
  const first = await new Promise<{ port: number, key: string, tenantId: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { port: number, key: string, tenantId: string }))
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code} before listening`)))
  })
  const cpu = () => new Promise<CpuSample>((resolve) => {
    child.once('message', (m) => resolve(m as CpuSample))
    child.send('cpu')
  })
  return {
    url: `http://127.0.0.1:${first.port}`,
    key: first.key,
    tenantId: first.tenantId,
    child,
    cpuUs: async () => (await cpu()).cpuUs,
    cpu,
    rss: () => new Promise((resolve) => {
      child.once('message', (m) => resolve((m as { rss: number }).rss))
      child.send('rss')
    }),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) { resolve(); return }
      child.once('exit', () => resolve())
      child.send('exit')
    })
  }
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
  const hdr = (s: RunningServer) => ({ 'x-api-key': s.key, 'x-tenant-id': s.tenantId })
  await load(candidate.url + path, { headers: hdr(candidate), durationS: 1, connections })
  await load(baseline.url + path, { headers: hdr(baseline), durationS: 1, connections })
  const c: LoadResult[] = []
  const b: LoadResult[] = []
  for (let i = 0; i < rounds; i++) {
    const [rb, rc] = await inTurn(i, () => load(baseline.url + path, { headers: hdr(baseline), durationS, connections }), () => load(candidate.url + path, { headers: hdr(candidate), durationS, connections }))
    b.push(rb)
    c.push(rc)
  }
  const cr = median(c.map((x) => x.rps))
  const br = median(b.map((x) => x.rps))
  const bad = c.reduce((n, x) => n + x.non2xx + x.errors, 0) + b.reduce((n, x) => n + x.non2xx + x.errors, 0)
  return { name, candidateRps: Math.round(cr), baselineRps: Math.round(br), ratio: cr / br, rounds, durationS, non2xxOrErrors: bad }
}
