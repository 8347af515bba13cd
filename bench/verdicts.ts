// `node bench/verdicts.ts [runs=5] [example...]`: are the verdicts deterministic? Runs every example
// client (examples/clients/*.ts) through `tenzro-harness verify --profile quick` `runs` times and fails
// (exit 1) if any example's verdicts (check id -> status) or exit code differ between runs. Examples
// run a few at a time (VERDICTS_CONCURRENCY, default 9): they are light, and the profile is timed in
// requests and connections, not CPU. Results go to reports/verdicts.json;
// VERDICTS_KEEP=1 keeps every run's report directory.
// The same runner serves harness/test/verify-examples.test.ts.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { main } from '../harness/src/cli.ts'
import type { HarnessReport } from '../harness/src/report/index.ts'

export const EXAMPLES_DIR = fileURLToPath(new URL('../examples/clients/', import.meta.url))

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

/** `tenzro-harness verify --profile <profile> -- node examples/clients/<name>.ts`, through the CLI's main(). */
export async function verifyExample (name: string, { profile = 'quick', reportDir, seed }: { profile?: string, reportDir?: string, seed?: number } = {}): Promise<ExampleRun> {
  const dir = reportDir ?? mkdtempSync(join(tmpdir(), `verdicts-${name}-`))
  let out = ''
  let err = ''
  const args = ['verify', '--profile', profile, '--quiet', '--report-dir', dir, ...(seed === undefined ? [] : ['--seed', String(seed)]), '--', process.execPath, join(EXAMPLES_DIR, `${name}.ts`)]
  const exitCode = await main(args, { out: (s) => { out += s }, err: (s) => { err += s }, color: false })
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

async function cli (argv: string[]): Promise<number> {
  const runs = argv[0] === undefined ? 5 : Number(argv[0])
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write('usage: node bench/verdicts.ts [runs=5] [example...]\n')
    return 2
  }
  const names = argv.length > 1 ? argv.slice(1) : listExamples()
  const concurrency = Number(process.env.VERDICTS_CONCURRENCY ?? 9)
  const root = mkdtempSync(join(tmpdir(), 'verdicts-'))
  const jobs = Array.from({ length: runs }, (_, r) => names.map((name) => ({ name, r }))).flat()
  const started = Date.now()
  process.stderr.write(`verdicts: ${names.length} examples x ${runs} runs, ${concurrency} at a time\n`)
  const results = await pool(jobs, concurrency, async ({ name, r }) => {
    const run = await verifyExample(name, { reportDir: join(root, `${name}-${r}`) })
    process.stderr.write(`verdicts: ${name} run ${r + 1}: exit ${run.exitCode}, ${summarise(run.verdicts)}\n`)
    return run
  })
  const byName = new Map<string, ExampleRun[]>()
  for (const run of results) byName.set(run.name, [...byName.get(run.name) ?? [], run])
  let unstable = 0
  const table: Record<string, unknown> = {}
  for (const name of names) {
    const rs = byName.get(name)!
    const lines = rs.map((x) => `exit ${x.exitCode}, ${summarise(x.verdicts)}`)
    const stable = lines.every((l) => l === lines[0])
    if (!stable) unstable++
    table[name] = stable ? { stable, verdicts: lines[0] } : { stable, runs: lines }
    process.stdout.write(`${stable ? 'same' : 'DIFF'}  ${name.padEnd(32)} ${stable ? lines[0] : '\n' + lines.map((l, i) => `        run ${i + 1}: ${l}`).join('\n')}\n`)
  }
  const took = Math.round((Date.now() - started) / 1000)
  process.stdout.write(`${names.length - unstable}/${names.length} examples gave the same verdicts on all ${runs} runs (${took} s)\n`)
  mkdirSync('reports', { recursive: true })
  writeFileSync('reports/verdicts.json', JSON.stringify({ runs, concurrency, tookS: took, examples: table }, null, 2) + '\n')
  if (process.env.VERDICTS_KEEP === '1') process.stdout.write(`reports kept in ${root}\n`)
  else rmSync(root, { recursive: true, force: true })
  return unstable === 0 ? 0 : 1
}

if (import.meta.main) process.exitCode = await cli(process.argv.slice(2))
