// `node bench/drill-verdicts.ts [runs=3] [case...]`: are the drills' verdicts deterministic? Runs every
// drill case (an example client under a drill profile, `drill incident`, or the seed's RateLimiter under
// the default and quick profiles) `runs` times and fails (exit 1) if any case's verdicts (check id ->
// status) or exit code differ between runs. Cases run DRILL_CONCURRENCY (default 7) at a time. Results
// go to reports/drill-verdicts.json; DRILL_KEEP=1 keeps every run's report directory. The same table serves harness/test/drill-verdicts.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../harness/src/cli.ts'
import type { HarnessReport } from '../harness/src/report/index.ts'
import { EXAMPLES_DIR, pool, summarise, type ExampleRun } from './verdicts.ts'

export interface DrillCase {
  /** Example client, relative to examples/clients, without .ts. */
  client: string
  /** A verify profile, or `drill incident`. */
  profile: string
  /** The checks it must fail and skip; every other check of the profile must pass. */
  fail: string[]
  skip?: string[]
}

/**
 * Expected verdicts. The seed's RateLimiter (examples/clients/drills/seed-rate-limiter.ts) answers
 * every fault the way the guide's code does: with the next turn of its loop (examples/clients/README.md).
 * It is judged under `default` and `shared-key` (the noisy neighbour). Not under `quick`: its faults
 * count list requests paced for a client that lists every 200 ms; this one lists every second.
 */
export const DRILL_CASES: Record<string, DrillCase> = {
  'rotation/rereads-key-file': { client: 'drills/rereads-key-file', profile: 'rotation', fail: [], skip: ['auth/no-hot-loop-after-401'] },
  'rotation/reads-key-once': { client: 'drills/reads-key-once', profile: 'rotation', fail: ['auth/survives-rotation'], skip: ['auth/old-key-retired'] },
  'hostile/rereads-key-file': { client: 'drills/rereads-key-file', profile: 'hostile', fail: [], skip: ['auth/no-hot-loop-after-401'] },
  'hostile/good': { client: 'good', profile: 'hostile', fail: [], skip: ['auth/no-hot-loop-after-401'] },
  'hostile/crashes-on-hostile': { client: 'drills/crashes-on-hostile', profile: 'hostile', fail: ['input/survives-hostile'], skip: ['auth/no-hot-loop-after-401'] },
  'hostile/poison-loop': { client: 'drills/poison-loop', profile: 'hostile', fail: ['input/no-poison-loop'], skip: ['auth/no-hot-loop-after-401'] },
  'environments/rereads-key-file': { client: 'drills/rereads-key-file', profile: 'environments', fail: [], skip: ['auth/no-hot-loop-after-401'] },
  'environments/good': { client: 'good', profile: 'environments', fail: [], skip: ['auth/no-hot-loop-after-401'] },
  'environments/wrong-network': { client: 'drills/wrong-network', profile: 'environments', fail: ['auth/key-for-this-network'], skip: ['auth/no-hot-loop-after-401'] },
  'incident/good': { client: 'good', profile: 'drill incident', fail: [] },
  'incident/rereads-key-file': { client: 'drills/rereads-key-file', profile: 'drill incident', fail: [] },
  'incident/hammers-after-401': { client: 'hammers-after-401', profile: 'drill incident', fail: ['incident/client-stops', 'auth/no-hot-loop-after-401'] },
  'default/seed-rate-limiter': {
    client: 'drills/seed-rate-limiter',
    profile: 'default',
    fail: ['throttling/retry-after', 'throttling/backoff', 'throttling/retry-cap', 'reconnection/stall-detected', 'idempotency/keys-on-posts', 'idempotency/retry-reuses-key', 'idempotency/no-duplicates'],
    skip: ['reconnection/comes-back', 'reconnection/respects-retry', 'reconnection/last-event-id', 'reconnection/gap-resync', 'idempotency/events-once']
  },
  // It never reads Retry-After: its loops sleep 1 s, and the neighbour's 429s (the last 2.5 s of
  // every 15 s window) carry Retry-After of 2-3 s when its first request meets them.
  'shared-key/seed-rate-limiter': { client: 'drills/seed-rate-limiter', profile: 'shared-key', fail: ['throttling/retry-after'], skip: ['throttling/backoff', 'throttling/retry-cap'] }
}

/** One case through the CLI's main(): `verify --profile <p>` or `drill incident`. */
export async function runDrillCase (name: string, reportDir?: string): Promise<ExampleRun> {
  const c = DRILL_CASES[name]
  if (c === undefined) throw new Error(`unknown drill case ${name}`)
  const dir = reportDir ?? mkdtempSync(join(tmpdir(), `drill-${name.replace('/', '-')}-`))
  let out = ''
  let err = ''
  const head = c.profile === 'drill incident' ? ['drill', 'incident'] : ['verify', '--profile', c.profile]
  const exitCode = await main([...head, '--quiet', '--report-dir', dir, '--', process.execPath, join(EXAMPLES_DIR, `${c.client}.ts`)], { out: (s) => { out += s }, err: (s) => { err += s }, color: false })
  let report: HarnessReport | undefined
  try { report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as HarnessReport } catch { /* could not start */ }
  const verdicts: Record<string, string> = {}
  for (const s of report?.suites ?? []) for (const ch of s.checks) verdicts[ch.id] = ch.status
  return { name, exitCode, verdicts, report, out, err, reportDir: dir }
}

async function cli (argv: string[]): Promise<number> {
  const runs = argv[0] === undefined ? 3 : Number(argv[0])
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write('usage: node bench/drill-verdicts.ts [runs=3] [case...]\n')
    return 2
  }
  const names = argv.length > 1 ? argv.slice(1) : Object.keys(DRILL_CASES)
  const concurrency = Number(process.env.DRILL_CONCURRENCY ?? 7)
  const root = mkdtempSync(join(tmpdir(), 'drill-verdicts-'))
  const jobs = Array.from({ length: runs }, (_, r) => names.map((name) => ({ name, r }))).flat()
  const started = Date.now()
  process.stderr.write(`drill-verdicts: ${names.length} cases x ${runs} runs, ${concurrency} at a time\n`)
  const results = await pool(jobs, concurrency, async ({ name, r }) => {
    const run = await runDrillCase(name, join(root, `${name.replace('/', '-')}-${r}`))
    process.stderr.write(`drill-verdicts: ${name} run ${r + 1}: exit ${run.exitCode}, ${summarise(run.verdicts)}\n`)
    return run
  })
  const byName = new Map<string, ExampleRun[]>()
  for (const run of results) byName.set(run.name, [...byName.get(run.name) ?? [], run])
  let unstable = 0
  const table: Record<string, unknown> = {}
  for (const name of names) {
    const lines = byName.get(name)!.map((x) => `exit ${x.exitCode}, ${summarise(x.verdicts)}`)
    const stable = lines.every((l) => l === lines[0])
    if (!stable) unstable++
    table[name] = stable ? { stable, verdicts: lines[0] } : { stable, runs: lines }
    process.stdout.write(`${stable ? 'same' : 'DIFF'}  ${name.padEnd(34)} ${stable ? lines[0] : '\n' + lines.map((l, i) => `        run ${i + 1}: ${l}`).join('\n')}\n`)
  }
  const took = Math.round((Date.now() - started) / 1000)
  process.stdout.write(`${names.length - unstable}/${names.length} drill cases gave the same verdicts on all ${runs} runs (${took} s)\n`)
  mkdirSync('reports', { recursive: true })
  writeFileSync('reports/drill-verdicts.json', JSON.stringify({ runs, concurrency, tookS: took, cases: table }, null, 2) + '\n')
  if (process.env.DRILL_KEEP === '1') process.stdout.write(`reports kept in ${root}\n`)
  else rmSync(root, { recursive: true, force: true })
  return unstable === 0 ? 0 : 1
}

if (import.meta.main) process.exitCode = await cli(process.argv.slice(2))
