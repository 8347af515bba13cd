// `node bench/verdicts.ts [runs=5] [example...]`: are the verdicts deterministic? Runs every example
// client (examples/clients/*.ts) through `tenzro-harness verify` under each profile of
// VERDICTS_PROFILES (default `default,quick`) `runs` times and fails (exit 1) if any example's
// verdicts (check id -> status), exit code or undelivered faults differ between runs of a profile.
// Runs go a dozen at a time (VERDICTS_CONCURRENCY, default 12): the clients are light, and the
// profiles are timed in requests and connections, not CPU. Results go to reports/verdicts.json;
// VERDICTS_KEEP=1 keeps every run's report directory.
// The same runner serves harness/test/verify-examples.test.ts.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawn } from 'node:child_process'
import type { HarnessReport } from '../harness/src/report/index.ts'

export const EXAMPLES_DIR = fileURLToPath(new URL('../examples/clients/', import.meta.url))
const HARNESS_BIN = fileURLToPath(new URL('../bin/tenzro-harness.js', import.meta.url))

/** The example clients: every .ts file directly in examples/clients, by name without extension. */
export function listExamples (): string[] {
  return readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.ts')).map((f) => basename(f, '.ts')).sort()
}

export interface ExampleRun {
  name: string
  exitCode: number
  /** Check id -> pass | fail | error | skip. */
  verdicts: Record<string, string>
  report: HarnessReport | undefined
  out: string
  err: string
  reportDir: string
}

/**
 * `tenzro-harness verify --profile <profile> -- node examples/clients/<name>.ts`, as its own process
 * (bin/tenzro-harness.js): each run's mock and OTLP receiver get their own event loop, so many runs
 * side by side do not slow each other's mock down (and skew its timestamps) the way one shared
 * process would.
 */
export async function verifyExample (name: string, { profile = 'quick', reportDir, seed }: { profile?: string, reportDir?: string, seed?: number } = {}): Promise<ExampleRun> {
  const dir = reportDir ?? mkdtempSync(join(tmpdir(), `verdicts-${name}-`))
  const args = [HARNESS_BIN, 'verify', '--profile', profile, '--quiet', '--report-dir', dir, ...(seed === undefined ? [] : ['--seed', String(seed)]), '--', process.execPath, join(EXAMPLES_DIR, `${name}.ts`)]
  const { exitCode, out, err } = await new Promise<{ exitCode: number, out: string, err: string }>((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s })
    child.stderr.setEncoding('utf8').on('data', (s: string) => { err += s })
    child.once('error', (e) => resolve({ exitCode: 3, out, err: err + e.message }))
    child.once('close', (code) => resolve({ exitCode: code ?? 3, out, err }))
  })
  let report: HarnessReport | undefined
  try { report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as HarnessReport } catch { /* no report: the run could not start */ }
  const verdicts: Record<string, string> = {}
  for (const s of report?.suites ?? []) for (const c of s.checks) verdicts[c.id] = c.status
  return { name, exitCode, verdicts, report, out, err, reportDir: dir }
}

/** Run `fn` over `items`, at most `concurrency` at a time, results in input order. */
export async function pool<T, R> (items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  async function worker (): Promise<void> {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  return results
}

/** `fail: a, b; skip: c` or `all pass`: one example's verdicts in a line. */
export function summarise (verdicts: Record<string, string>): string {
  const by = (status: string) => Object.keys(verdicts).filter((id) => verdicts[id] === status).sort()
  const parts = ['fail', 'error', 'skip'].filter((st) => by(st).length > 0).map((st) => `${st}: ${by(st).join(', ')}`)
  return parts.length === 0 ? 'all pass' : parts.join('; ')
}

/** One run in a line: exit code, verdicts, and the faults that never reached the client. */
export function describeRun (run: ExampleRun): string {
  const missing = (run.report?.suites[0]?.coverage ?? []).filter((c) => c.delivered === 0).map((c) => c.id)
  return `exit ${run.exitCode}, ${summarise(run.verdicts)}${missing.length > 0 ? `; undelivered: ${missing.join(', ')}` : ''}`
}

async function cli (argv: string[]): Promise<number> {
  const runs = argv[0] === undefined ? 5 : Number(argv[0])
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write('usage: node bench/verdicts.ts [runs=5] [example...]\n')
    return 2
  }
  const names = argv.length > 1 ? argv.slice(1) : listExamples()
  const profiles = (process.env.VERDICTS_PROFILES ?? 'default,quick').split(',')
  const concurrency = Number(process.env.VERDICTS_CONCURRENCY ?? 12)
  const root = mkdtempSync(join(tmpdir(), 'verdicts-'))
  const jobs = profiles.flatMap((profile) => Array.from({ length: runs }, (_, r) => names.map((name) => ({ name, r, profile }))).flat())
  const started = Date.now()
  process.stderr.write(`verdicts: ${names.length} examples x ${profiles.join(', ')} x ${runs} runs, ${concurrency} at a time\n`)
  const results = await pool(jobs, concurrency, async ({ name, r, profile }) => {
    const run = await verifyExample(name, { profile, reportDir: join(root, `${profile}-${name}-${r}`) })
    process.stderr.write(`verdicts: ${profile} ${name} run ${r + 1}: ${describeRun(run)}\n`)
    return { profile, run }
  })
  let unstable = 0
  const table: Record<string, Record<string, unknown>> = {}
  for (const profile of profiles) {
    table[profile] = {}
    for (const name of names) {
      const lines = results.filter((x) => x.profile === profile && x.run.name === name).map((x) => describeRun(x.run))
      const stable = lines.every((l) => l === lines[0])
      if (!stable) unstable++
      table[profile]![name] = stable ? { stable, verdicts: lines[0] } : { stable, runs: lines }
      process.stdout.write(`${stable ? 'same' : 'DIFF'}  ${profile.padEnd(8)} ${name.padEnd(30)} ${stable ? lines[0] : '\n' + lines.map((l, i) => `        run ${i + 1}: ${l}`).join('\n')}\n`)
    }
  }
  const took = Math.round((Date.now() - started) / 1000)
  const total = names.length * profiles.length
  process.stdout.write(`${total - unstable}/${total} example x profile pairs gave the same verdicts on all ${runs} runs (${took} s)\n`)
  mkdirSync('reports', { recursive: true })
  writeFileSync('reports/verdicts.json', JSON.stringify({ runs, profiles, concurrency, tookS: took, examples: table }, null, 2) + '\n')
  if (process.env.VERDICTS_KEEP === '1') process.stdout.write(`reports kept in ${root}\n`)
  else rmSync(root, { recursive: true, force: true })
  return unstable === 0 ? 0 : 1
}

if (import.meta.main) process.exitCode = await cli(process.argv.slice(2))
