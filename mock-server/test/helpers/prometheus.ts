// A real Prometheus for tests (house style principle 7): the Debian `prometheus` on a free loopback
// port, a temporary TSDB, its remote-write receiver on (k6 writes there with
// `-o experimental-prometheus-rw`) and exemplar storage on. Also `promtool`. When a binary is missing
// the caller skips with a printed reason, except under CI, where a missing binary is a failure.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findBinary, freePort, skipReason, type BinarySpec } from './binary.ts'

export const PROMETHEUS: BinarySpec = { name: 'prometheus', envVar: 'PROMETHEUS_BIN', pkg: 'prometheus' }
export const PROMTOOL: BinarySpec = { name: 'promtool', envVar: 'PROMTOOL_BIN', pkg: 'prometheus' }

/** Why Prometheus tests must skip, or undefined when they can run. Under CI a missing binary throws. */
export function prometheusSkipReason (what = 'Prometheus tests'): string | undefined {
  return skipReason(PROMETHEUS, what) ?? skipReason(PROMTOOL, what)
}

export function promtoolBinary (): string | undefined {
  return findBinary(PROMTOOL)
}

/** A PromQL result as the HTTP API returns it (`data`). */
export interface QueryData {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string'
  result: Array<{ metric: Record<string, string>, value?: [number, string], values?: Array<[number, string]> }>
}

export interface PrometheusServer {
  url: string
  dir: string
  /** Remote-write endpoint (k6 `K6_PROMETHEUS_RW_SERVER_URL`). */
  writeUrl: string
  /** GET an API path (`/api/v1/...`) and return `data`; throws with Prometheus's error on a non-success answer. */
  api<T = unknown> (path: string, params?: Record<string, string | string[]>): Promise<T>
  query (expr: string, time?: number): Promise<QueryData>
  queryRange (expr: string, start: number, end: number, stepS: number): Promise<QueryData>
  /** Ask Prometheus to reload its configuration and rule files. */
  reload (): Promise<void>
  stop (): Promise<void>
}

/**
 * Start `prometheus` with `config` (prometheus.yml text) on a free port; resolves once /-/ready answers.
 * Rule files may be named by absolute path in the config.
 */
export async function startPrometheus (config: string, { timeoutMs = 30_000, flags = [] as string[] } = {}): Promise<PrometheusServer> {
  const bin = findBinary(PROMETHEUS)
  if (bin === undefined) throw new Error('prometheus is not installed')
  const dir = await mkdtemp(join(tmpdir(), 'tenzro-prometheus-'))
  await writeFile(join(dir, 'prometheus.yml'), config)
  let child: ChildProcess | undefined
  let port: number
  let log = ''
  for (let attempt = 0; ; attempt++) {
    port = await freePort()
    log = ''
    const c = spawn(bin, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--web.enable-lifecycle',
      '--enable-feature=exemplar-storage',
      '--log.level=warn',
      ...flags
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    c.stdout?.on('data', (b: Buffer) => { log += b.toString() })
    c.stderr?.on('data', (b: Buffer) => { log = (log + b.toString()).slice(-20_000) })
    try {
      await waitReady(c, `http://127.0.0.1:${port}`, timeoutMs, () => log)
      child = c
      break
    } catch (err) {
      c.kill('SIGKILL')
      if (attempt < 3 && /address already in use/i.test(log)) continue
      await rm(dir, { recursive: true, force: true })
      throw err
    }
  }
  const url = `http://127.0.0.1:${port}`

  async function api<T> (path: string, params: Record<string, string | string[]> = {}): Promise<T> {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x)
    const qs = q.toString()
    const res = await fetch(url + path + (qs === '' ? '' : '?' + qs))
    const json = await res.json() as { status: string, data: T, error?: string, errorType?: string }
    if (json.status !== 'success') throw new Error(`Prometheus ${path} ${JSON.stringify(params)}: ${json.errorType ?? res.status}: ${json.error ?? ''}`)
    return json.data
  }

  return {
    url,
    dir,
    writeUrl: `${url}/api/v1/write`,
    api,
    query: (expr, time) => api<QueryData>('/api/v1/query', time === undefined ? { query: expr } : { query: expr, time: String(time) }),
    queryRange: (expr, start, end, stepS) => api<QueryData>('/api/v1/query_range', { query: expr, start: String(start), end: String(end), step: String(stepS) }),
    async reload () {
      const res = await fetch(`${url}/-/reload`, { method: 'POST' })
      if (!res.ok) throw new Error(`reload failed: ${res.status} ${await res.text()}`)
    },
    async stop () {
      const c = child
      child = undefined
      if (c !== undefined && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()))
        c.kill('SIGTERM')
        const t = setTimeout(() => c.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(t)
      }
      await rm(dir, { recursive: true, force: true })
    }
  }
}

async function waitReady (child: ChildProcess, url: string, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`prometheus exited with ${child.exitCode ?? child.signalCode}:\n${log()}`)
    try {
      const res = await fetch(`${url}/-/ready`)
      if (res.ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`prometheus not ready after ${timeoutMs} ms:\n${log()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
