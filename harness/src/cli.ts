// `tenzro-harness`: the only part of the harness that prints and sets an exit code (house style
// principle 4). Exit codes: 0 every check passed, 1 a check failed, 2 bad usage or configuration,
// 3 the harness or the client under test could not run.
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { join, resolve } from 'node:path'
import { applyStrict, renderConsole, totals, writeReports, type HarnessReport, type SuiteReport } from './report/index.ts'
import { PROFILES, SCENARIOS, type Profile } from './profiles.ts'
import { runSession, type SessionResult } from './session.ts'
import { ControlError } from './control.ts'
import { cmdDrill } from './drills/command.ts'
import { DRILL_SCENARIOS } from './drills/profiles.ts'

export const EXIT = { pass: 0, fail: 1, usage: 2, cannotRun: 3 } as const
const VERSION = '0.1.0'
const GOOD_CLIENT = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../examples/clients/good.ts' : '../../examples/clients/good.js', import.meta.url))

const MAIN_HELP = `tenzro-harness: tells whether a Tenzro Platform API client behaves

Usage:
  tenzro-harness run [scenario...] [options]      run the built-in scenarios with the reference client
  tenzro-harness verify [options] -- <command...> judge your own client, run as a command
  tenzro-harness profiles                         list the fault profiles of verify
  tenzro-harness drill incident [options] -- <command...>
                                                  incident drill: revoke every key of the tenant
                                                  while your client runs; audit trail and timeline
  tenzro-harness <command> --help                 help for one command

Exit codes: 0 all checks passed, 1 a check failed, 2 bad usage or configuration,
3 the harness or the client under test could not run.
`

const RUN_HELP = `tenzro-harness run [scenario...] [options]

Runs built-in scenarios: each is a fault plan, the reference client (examples/clients/good.ts) and
the checks that judge it. Without names, runs all of them except the drills:
${Object.keys(SCENARIOS).filter((n) => !(n in DRILL_SCENARIOS)).join(', ')}.
Drills (by name): ${Object.keys(DRILL_SCENARIOS).join(', ')} (the rotation drill runs
examples/clients/drills/rereads-key-file.ts, since the reference client reads its key once).

Options:
  --target <url>          use a running mock instead of an embedded one (its control API must answer)
  --control-token <t>     X-Harness-Token for the target's control API
  --report-dir <dir>      where report.json, junit.xml and report.html go (default reports/run)
  --seed <n>              seed of the fault plans (default 1)
  --otlp-forward <url>    also forward received spans to this OTLP/HTTP collector
  --strict                a check the scenario could not exercise (skip) is a failure (exit 1)
  --quiet                 no progress lines
  -h, --help              this help

Example:
  tenzro-harness run throttling reconnection --report-dir reports/ci
`

const VERIFY_HELP = `tenzro-harness verify [options] -- <command> [args...]

Starts the mock (or uses --target), creates a tenant with a fresh canary key, applies a fault
profile, and runs your command with:
  TENZRO_API_URL               base URL of the mock
  TENZRO_API_KEY               the canary key (tnz_<tenant>_<secret>)
  TENZRO_TENANT_ID             the tenant id
  OTEL_EXPORTER_OTLP_ENDPOINT  the harness's OTLP/HTTP receiver (send traces there)
After --duration it stops the command (SIGTERM, then SIGKILL) and judges: auth, throttling,
reconnection, idempotency, secrets (and the drill profiles' own checks).
Every authentication attempt of the run goes to audit.ndjson in the report directory.
Drill profiles add: rotation (also TENZRO_API_KEY_FILE), environments (also TENZRO_NETWORK),
hostile, incident; see \`tenzro-harness profiles\`.

Options:
  --profile <name>        fault profile (default: default; see \`tenzro-harness profiles\`)
  --duration <s>          how long the command runs, counted from its first request (or from 10 s
                          after the start, if it has sent none by then); default: the profile's,
                          66 s for default, 37 s for quick (tenzro-harness profiles lists them all)
  --target <url>          use a running mock instead of an embedded one
  --control-token <t>     X-Harness-Token for the target's control API
  --log-file <path>       a log file your client writes, scanned for the key (repeatable)
  --scan-dir <dir>        a directory to scan for the key, e.g. a built front end (repeatable)
  --max-retries <n>       retries allowed per request before it counts as uncapped (default 5)
  --tolerance-ms <n>      slack on Retry-After and retry: (default 50)
  --report-dir <dir>      where the reports go (default reports/verify)
  --otlp-forward <url>    also forward received spans to this OTLP/HTTP collector
  --seed <n>              seed of the fault plan (default 1)
  --tls                   serve the embedded mock over HTTPS (TLS 1.2+) with a CA made for the run;
                          the client gets TENZRO_CA_FILE and NODE_EXTRA_CA_CERTS (--profile tls
                          implies it, and adds an untrusted certificate and a TLS 1.1 offer)
  --strict                a check the profile could not exercise for your client (skip) is a
                          failure (exit 1): the setting for a go-live gate
  --quiet                 no progress lines
  -h, --help              this help

Every report shows, per fault of the profile, how often it was planned, matched and delivered to
your client; the summary line says when not every fault reached it.

Examples:
  tenzro-harness verify --log-file app.log --scan-dir dist -- node my-client.js
  tenzro-harness verify --strict --profile default -- python my_client.py
`

class UsageError extends Error {}

function int (name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`${name} must be a whole number ${min}..${max}, got ${JSON.stringify(v)}`)
  return Number(v)
}

function url (name: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined
  try {
    const u = new URL(v)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http')
    return v
  } catch {
    throw new UsageError(`${name} must be an http(s) URL, got ${JSON.stringify(v)}`)
  }
}

interface Io { out: (s: string) => void, err: (s: string) => void, color: boolean }

function report (command: HarnessReport['command'], suites: SuiteReport[], started: number, target: string, strict: boolean): HarnessReport {
  // --strict (a go-live gate): a check the run could not exercise is a failure, in every report.
  if (strict) applyStrict(suites)
  return { tool: 'tenzro-harness', version: VERSION, command, startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, target, suites, totals: totals(suites), ...(strict ? { strict } : {}) }
}

function finish (r: HarnessReport, dir: string, io: Io, cannotRun: string[]): number {
  const paths = writeReports(r, dir)
  io.out(renderConsole(r, { color: io.color, paths: [paths.html, paths.junit, paths.json] }))
  for (const c of cannotRun) io.err(`tenzro-harness: ${c}\n`)
  if (cannotRun.length > 0) return EXIT.cannotRun
  return r.totals.fail + r.totals.error > 0 ? EXIT.fail : EXIT.pass
}

/** A client that could not start, or ended at once without a request, could not run (exit 3). */
function couldNotRun (name: string, s: SessionResult): string | undefined {
  if (s.client.spawnError !== undefined) return `${name}: the client command could not start (${s.client.spawnError})`
  if (!s.client.stoppedByHarness && s.client.exitCode !== 0 && s.client.requests === 0) {
    const tail = s.client.stderrTail === '' ? ' (it wrote nothing to stderr)' : `; the end of its stderr (all of it, redacted, in the report directory's client*.stderr.log):\n${s.client.stderrTail.split('\n').map((l) => `  | ${l}`).join('\n')}`
    return `${name}: the client exited with ${s.client.exitCode ?? s.client.signal} before making any request${tail}`
  }
  return undefined
}

async function cmdRun (argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      target: { type: 'string' }, 'control-token': { type: 'string' }, 'report-dir': { type: 'string' },
      seed: { type: 'string' }, 'otlp-forward': { type: 'string' }, quiet: { type: 'boolean' }, strict: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) { io.out(RUN_HELP); return EXIT.pass }
  const names = positionals.length === 0 ? Object.keys(SCENARIOS).filter((n) => !(n in DRILL_SCENARIOS)) : positionals
  const unknown = names.filter((n) => !(n in SCENARIOS))
  if (unknown.length > 0) throw new UsageError(`unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`)
  const seed = int('--seed', values.seed, 0, 2 ** 32 - 1)
  const target = url('--target', values.target)
  const forward = url('--otlp-forward', values['otlp-forward'])
  const dir = resolve(values['report-dir'] ?? 'reports/run')
  const started = Date.now()
  const suites: SuiteReport[] = []
  const cannot: string[] = []
  let where = 'embedded mock'
  for (const name of names) {
    const sc = SCENARIOS[name]!
    if (values.quiet !== true) io.err(`tenzro-harness: scenario ${name}: ${sc.description}\n`)
    const s = await runSession({
      name,
      profile: sc,
      command: [process.execPath, sc.client === undefined ? GOOD_CLIENT : fileURLToPath(new URL(`../../examples/clients/${sc.client}`, import.meta.url))],
      env: sc.clientEnv,
      ...(target === undefined ? {} : { target: { url: target, controlToken: values['control-token'] } }),
      ...(seed === undefined ? {} : { seed }),
      otlpForward: forward,
      mockLogFile: join(dir, `mock-${name}.log`),
      auditFile: join(dir, `audit-${name}.ndjson`),
      clientOutputPrefix: join(dir, `client-${name}`),
      onProgress: values.quiet === true ? undefined : (l) => io.err(`tenzro-harness: ${l}\n`)
    })
    suites.push(s.suite)
    where = target ?? where
    const c = couldNotRun(name, s)
    if (c !== undefined) cannot.push(c)
  }
  return finish(report('run', suites, started, where, values.strict === true), dir, io, cannot)
}

async function cmdVerify (argv: string[], io: Io): Promise<number> {
  const dash = argv.indexOf('--')
  const own = dash === -1 ? argv : argv.slice(0, dash)
  const command = dash === -1 ? [] : argv.slice(dash + 1)
  const { values, positionals } = parseArgs({
    args: own,
    allowPositionals: true,
    strict: true,
    options: {
      profile: { type: 'string' }, duration: { type: 'string' }, target: { type: 'string' }, 'control-token': { type: 'string' },
      'log-file': { type: 'string', multiple: true }, 'scan-dir': { type: 'string', multiple: true },
      'max-retries': { type: 'string' }, 'tolerance-ms': { type: 'string' }, 'report-dir': { type: 'string' },
      'otlp-forward': { type: 'string' }, seed: { type: 'string' }, quiet: { type: 'boolean' }, strict: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      tls: { type: 'boolean' }
    }
  })
  if (values.help === true) { io.out(VERIFY_HELP); return EXIT.pass }
  if (values.tls === true && values.target !== undefined) throw new UsageError('--tls starts an embedded HTTPS mock; for a running one started with tenzro-mock --tls, give the harness its CA with NODE_EXTRA_CA_CERTS and drop --tls')
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}: put the client command after --`)
  if (command.length === 0) throw new UsageError('no client command: tenzro-harness verify [options] -- <command> [args...]')
  const profile: Profile | undefined = PROFILES[values.profile ?? 'default']
  if (profile === undefined) throw new UsageError(`unknown profile ${JSON.stringify(values.profile)}; known: ${Object.keys(PROFILES).join(', ')}`)
  const durationS = int('--duration', values.duration, 1, 86_400)
  const maxRetries = int('--max-retries', values['max-retries'], 0, 100)
  const toleranceMs = int('--tolerance-ms', values['tolerance-ms'], 0, 60_000)
  const seed = int('--seed', values.seed, 0, 2 ** 32 - 1)
  const target = url('--target', values.target)
  const forward = url('--otlp-forward', values['otlp-forward'])
  const dir = resolve(values['report-dir'] ?? 'reports/verify')
  const started = Date.now()
  const s = await runSession({
    name: 'verify',
    profile,
    command,
    ...(durationS === undefined ? {} : { durationMs: durationS * 1000 }),
    ...(target === undefined ? {} : { target: { url: target, controlToken: values['control-token'] } }),
    logFiles: values['log-file'] ?? [],
    scanDirs: values['scan-dir'] ?? [],
    ...(maxRetries === undefined ? {} : { maxRetries }),
    ...(toleranceMs === undefined ? {} : { toleranceMs }),
    ...(seed === undefined ? {} : { seed }),
    ...(values.tls === true ? { tls: true } : {}),
    otlpForward: forward,
    mockLogFile: join(dir, 'mock.log'),
    auditFile: join(dir, 'audit.ndjson'),
    clientOutputPrefix: join(dir, 'client'),
    onProgress: values.quiet === true ? undefined : (l) => io.err(`tenzro-harness: ${l}\n`)
  })
  const c = couldNotRun('verify', s)
  return finish(report('verify', [s.suite], started, s.target, values.strict === true), dir, io, c === undefined ? [] : [c])
}

const PROFILES_HELP = `tenzro-harness profiles

Lists the fault profiles of verify (--profile <name>): name, duration and what each does.

Options:
  -h, --help              this help
`

function cmdProfiles (argv: string[], io: Io): number {
  const { values } = parseArgs({ args: argv, allowPositionals: false, strict: true, options: { help: { type: 'boolean', short: 'h' } } })
  if (values.help === true) { io.out(PROFILES_HELP); return EXIT.pass }
  for (const p of Object.values(PROFILES)) io.out(`${p.name.padEnd(12)} ${p.durationS} s  ${p.description}\n`)
  return EXIT.pass
}

export async function main (argv: string[], io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), color: process.stdout.isTTY === true }): Promise<number> {
  const [cmd, ...rest] = argv
  try {
    switch (cmd) {
      case 'run': return await cmdRun(rest, io)
      case 'verify': return await cmdVerify(rest, io)
      case 'profiles': return cmdProfiles(rest, io)
      case 'drill': return await cmdDrill(rest, io, { UsageError, int, url, report, finish, couldNotRun })
      case undefined: case '-h': case '--help': case 'help':
        io.out(MAIN_HELP)
        return cmd === undefined ? EXIT.usage : EXIT.pass
      case '--version': io.out(VERSION + '\n'); return EXIT.pass
      default: throw new UsageError(`unknown command ${JSON.stringify(cmd)}`)
    }
  } catch (err) {
    const e = err as Error & { code?: string }
    if (err instanceof UsageError || e.code?.startsWith('ERR_PARSE_ARGS') === true) {
      io.err(`tenzro-harness: ${e.message}\n(invalid_usage; see tenzro-harness ${cmd ?? ''} --help)\n`)
      return EXIT.usage
    }
    if (err instanceof ControlError) {
      io.err(`tenzro-harness: ${e.message} (${e.code})\n`)
      return err.code === 'target_unreachable' ? EXIT.cannotRun : EXIT.usage
    }
    io.err(`tenzro-harness: could not run: ${e.message}\n`)
    return EXIT.cannotRun
  }
}
