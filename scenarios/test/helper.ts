// Shared by the scenario tests: where the scripts are, and stand-ins for the stock k6 modules so Node
// can load a script's init context (options, metrics, handleSummary) without k6. The stand-ins record
// what a script asks of k6; nothing here pretends to be the API under test.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

export const SCENARIOS_DIR = join(import.meta.dirname, '..')

/** The runnable scripts: every .ts directly in scenarios/. */
export function scriptFiles (): string[] {
  return readdirSync(SCENARIOS_DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort()
}

/** Every source file under scenarios/, tests included, as [path relative to scenarios/, text]. */
export function allSources (dir = SCENARIOS_DIR): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...allSources(p))
    else if (/\.(ts|js|mjs|cjs)$/.test(name)) out.push([relative(SCENARIOS_DIR, p), readFileSync(p, 'utf8')])
  }
  return out
}

export interface Recorded {
  method: string
  url: string
  body: string | null
  params: { headers?: Record<string, string>, tags?: Record<string, string>, timeout?: string | number, responseCallback?: unknown }
}

export interface Answer { status: number, headers: Record<string, string>, body: string, error?: string }

/** How the http stand-in answers: canned answers by default, a real server through curl with `liveTransport()`. */
export interface Transport {
  one (r: Recorded): Answer
  many (rs: Recorded[]): Answer[]
}

interface K6State {
  requests: Recorded[]
  samples: Array<{ metric: string, value: number | boolean }>
  metrics: Map<string, string>
  checks: Map<string, { passes: number, fails: number }>
  aborted: string[]
  transport: Transport
  vu: { idInTest: number, idInInstance: number, iterationInScenario: number, iterationInInstance: number }
  scenario: { name: string, iterationInTest: number, iterationInInstance: number }
}

const canned: Transport = {
  one: () => ({ status: 200, headers: {}, body: '{}' }),
  many: (rs) => rs.map(() => ({ status: 200, headers: {}, body: '{}' }))
}

// On globalThis: vi.resetModules() reloads this file inside the mock factories, and the test must see
// what those fresh copies recorded.
const g = globalThis as { __k6State?: K6State }
g.__k6State ??= {
  requests: [],
  samples: [],
  metrics: new Map(),
  checks: new Map(),
  aborted: [],
  transport: canned,
  vu: { idInTest: 1, idInInstance: 1, iterationInScenario: 0, iterationInInstance: 0 },
  scenario: { name: 'test', iterationInTest: 0, iterationInInstance: 0 }
}

/** What the k6 stand-ins saw. Reset between tests with `resetK6()`. */
export const k6State: K6State = g.__k6State

export function resetK6 (transport: Transport = canned): void {
  k6State.requests.length = 0
  k6State.samples.length = 0
  k6State.aborted.length = 0
  k6State.metrics.clear()
  k6State.checks.clear()
  k6State.transport = transport
  Object.assign(k6State.vu, { idInTest: 1, idInInstance: 1, iterationInScenario: 0, iterationInInstance: 0 })
  Object.assign(k6State.scenario, { iterationInTest: 0, iterationInInstance: 0 })
}

/** Sum of a counter's samples, or the share of true samples of a rate. */
export function metricTotal (name: string): number {
  const xs = k6State.samples.filter((x) => x.metric === name).map((x) => Number(x.value))
  return k6State.metrics.get(name) === 'rate' ? (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length) : xs.reduce((a, b) => a + b, 0)
}

/** The checks that failed at least once, by name. */
export function failedChecks (): string[] {
  return [...k6State.checks.entries()].filter(([, c]) => c.fails > 0).map(([n, c]) => `${n} (${c.fails} of ${c.passes + c.fails})`)
}

function record (method: string, url: string, body: unknown, params: Recorded['params'] | null): Recorded {
  const r: Recorded = { method, url, body: typeof body === 'string' ? body : null, params: params ?? {} }
  k6State.requests.push(r)
  return r
}

function k6Response (a: Answer) {
  // k6 leaves the headers map nil when the request failed (status 0); scripts must cope with null.
  return { status: a.status, headers: a.status === 0 ? null : a.headers, body: a.body, error: a.error ?? '', error_code: a.status === 0 ? 1000 : 0, timings: { duration: 1 } }
}

export const k6 = {
  check: (v: unknown, sets: Record<string, (x: unknown) => boolean>) => {
    let all = true
    for (const [name, f] of Object.entries(sets)) {
      const ok = f(v) === true
      const c = k6State.checks.get(name) ?? { passes: 0, fails: 0 }
      if (ok) c.passes++
      else c.fails++
      k6State.checks.set(name, c)
      all &&= ok
    }
    return all
  },
  sleep: (s: number) => { if (s > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, s * 1000) },
  group: (_name: string, fn: () => unknown) => fn(),
  fail: (m?: string) => { throw new Error(m) }
}

export const k6http = {
  default: {
    expectedStatuses: (...s: number[]) => ({ expected: s }),
    request: (method: string, url: string, body: unknown, params: Recorded['params'] | null) => k6Response(k6State.transport.one(record(method, url, body, params))),
    batch: (reqs: Array<{ method: string, url: string, body?: unknown, params?: Recorded['params'] }>) =>
      k6State.transport.many(reqs.map((q) => record(q.method, q.url, q.body, q.params ?? null))).map(k6Response)
  }
}

function metricClass (type: string) {
  return class {
    name: string
    constructor (name: string) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/.test(name)) throw new Error(`k6 rejects the metric name ${name}`)
      if (k6State.metrics.has(name) && k6State.metrics.get(name) !== type) throw new Error(`metric ${name} redeclared as ${type}`)
      k6State.metrics.set(name, type)
      this.name = name
    }

    add (value: number | boolean) {
      k6State.samples.push({ metric: this.name, value })
    }
  }
}

export const k6metrics = { Counter: metricClass('counter'), Rate: metricClass('rate'), Trend: metricClass('trend'), Gauge: metricClass('gauge') }

export const k6execution = {
  default: {
    test: { abort: (m?: string) => { k6State.aborted.push(m ?? ''); throw new Error(`aborted: ${m}`) }, options: {} },
    vu: k6State.vu,
    scenario: k6State.scenario
  }
}

let counter = 1
export const k6crypto = {
  // Deterministic, never all zero: tests assert formats, not randomness.
  randomBytes: (n: number) => Uint8Array.from({ length: n }, (_v, i) => (counter++ + i) & 255).buffer
}

/** Load a script's module fresh, with `env` as __ENV (the module reads it at init). */
export async function loadScript (file: string, env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  (globalThis as Record<string, unknown>).__ENV = { ...env }
  return await import(join(SCENARIOS_DIR, file)) as Record<string, unknown>
}

// ---- a real server, through curl -------------------------------------------------------------------

/** Go's net/http canonical header names, as k6 hands them to scripts: x-ratelimit-limit -> X-Ratelimit-Limit. */
function canonical (name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase())
}

function timeoutS (t: string | number | undefined): string {
  if (t === undefined) return '60'
  if (typeof t === 'number') return String(t / 1000)
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(t)
  if (m === null) return '60'
  const n = Number(m[1])
  return String(m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n)
}

function curlArgs (r: Recorded, dir: string, i: number): string[] {
  const args = ['-s', '-X', r.method, '-m', timeoutS(r.params.timeout), '-D', join(dir, `h${i}`), '-o', join(dir, `b${i}`), '-w', `${i} %{exitcode}\n`]
  for (const [k, v] of Object.entries(r.params.headers ?? {})) args.push('-H', `${k}: ${v}`)
  if (r.body !== null) {
    writeFileSync(join(dir, `q${i}`), r.body)
    args.push('--data-binary', `@${join(dir, `q${i}`)}`)
  }
  args.push(r.url)
  return args
}

/**
 * One answer as k6 reports it. When the body read fails after the headers (the server dropped the
 * stream: curl 18/56, or the client timeout: curl 28), k6 keeps the body read so far but reports
 * status 0 and no headers (lib/netext/httpext/request.go and compression.go readResponseBody).
 */
function readAnswer (dir: string, i: number, exitCode: number): Answer {
  const hp = join(dir, `h${i}`)
  const bp = join(dir, `b${i}`)
  const body = existsSync(bp) ? readFileSync(bp, 'utf8') : ''
  if (!existsSync(hp)) return { status: 0, headers: {}, body: '', error: `request failed (curl exit ${exitCode})` }
  if (exitCode !== 0) return { status: 0, headers: {}, body, error: exitCode === 28 ? 'request timeout' : 'unexpected EOF' }
  const blocks = readFileSync(hp, 'utf8').split(/\r\n\r\n/).filter((b) => b.startsWith('HTTP/'))
  const last = blocks[blocks.length - 1] ?? ''
  const [statusLine, ...lines] = last.split(/\r\n/)
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0)
  const headers: Record<string, string> = {}
  for (const l of lines) {
    const c = l.indexOf(':')
    if (c > 0) headers[canonical(l.slice(0, c).trim())] = l.slice(c + 1).trim()
  }
  return { status, headers, body }
}

/** Run curl; returns each transfer's exit code by index (from -w), whatever curl's own exit code. */
function run (args: string[], n: number): number[] {
  let out: string
  try {
    out = execFileSync('curl', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
  } catch (err) {
    out = String((err as { stdout?: string }).stdout ?? '')
  }
  const codes = new Array<number>(n).fill(7)
  for (const line of out.split('\n')) {
    const m = /^(\d+) (\d+)$/.exec(line.trim())
    if (m !== null) codes[Number(m[1])] = Number(m[2])
  }
  return codes
}

/** Requests go to a real server through curl (synchronous, as k6's http is); a batch goes out in parallel. */
export function liveTransport (): Transport {
  return {
    one (r) {
      const dir = mkdtempSync(join(tmpdir(), 'k6-shim-'))
      try {
        const [code] = run(curlArgs(r, dir, 0), 1)
        return readAnswer(dir, 0, code!)
      } finally { rmSync(dir, { recursive: true, force: true }) }
    },
    many (rs) {
      const dir = mkdtempSync(join(tmpdir(), 'k6-shim-'))
      try {
        const args = ['-Z', '--parallel-max', String(Math.max(1, rs.length))]
        rs.forEach((r, i) => { if (i > 0) args.push('--next'); args.push(...curlArgs(r, dir, i)) })
        const codes = run(args, rs.length)
        return rs.map((_r, i) => readAnswer(dir, i, codes[i]!))
      } finally { rmSync(dir, { recursive: true, force: true }) }
    }
  }
}

export function hasCurl (): boolean {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Start the real mock (bin/tenzro-mock.js) on a free port; resolves with its URL and a stop function. */
export async function startMock (args: string[] = []): Promise<{ url: string, stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [join(SCENARIOS_DIR, '..', 'bin', 'tenzro-mock.js'), '--port', '0', '--log-level', 'silent', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`the mock did not start in 10 s: ${err}`)), 10_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /tenzro-mock listening on (http:\/\/\S+)/.exec(out)
      if (m !== null) { clearTimeout(timer); resolve(m[1]!) }
    })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the mock exited with ${code}: ${err}`)) })
  })
  return {
    url,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) { resolve(); return }
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
  }
}
