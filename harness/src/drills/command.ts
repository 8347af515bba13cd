// `tenzro-harness drill incident`: the incident-response drill of Tenzro's security guide ("rotate all
// API keys, review audit logs, document the incident timeline") against a running client. Revokes every
// key of the client's tenant at once while it runs, judges the mock (every stream closed within one
// heartbeat, nothing served after) and the client (it stops cleanly, never prints its key), and writes
// the audit trail (audit.ndjson) and the timeline (report.html) beside the usual reports.
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { runSession, type SessionResult } from '../session.ts'
import type { HarnessReport, SuiteReport } from '../report/index.ts'
import { DRILL_PROFILES } from './profiles.ts'
import type { Profile } from '../profiles.ts'

const EXIT = { pass: 0, usage: 2 } as const

interface Io { out: (s: string) => void, err: (s: string) => void, color: boolean }

/** What the drill command takes from the CLI (cli.ts), handed in so the two do not import each other. */
export interface CliParts {
  UsageError: new (message: string) => Error
  int: (name: string, v: string | undefined, min: number, max: number) => number | undefined
  url: (name: string, v: string | undefined) => string | undefined
  report: (command: HarnessReport['command'], suites: SuiteReport[], started: number, target: string, strict: boolean) => HarnessReport
  finish: (r: HarnessReport, dir: string, io: Io, cannotRun: string[]) => number
  couldNotRun: (name: string, s: SessionResult) => string | undefined
}

const DRILL_HELP = `tenzro-harness drill <name> [options] -- <command> [args...]

Rehearses a practice of Tenzro's security guide against your client. Drills:
  incident   revoke every key of the tenant at once while the client runs (tenzro-harness drill incident --help)

The other drills are profiles of verify: --profile rotation, hostile, environments
(tenzro-harness profiles).
`

const INCIDENT_HELP = `tenzro-harness drill incident [options] -- <command> [args...]

Starts the mock (or uses --target), creates a tenant with a canary key and two sentinel keys that each
hold an event stream open (the tenant's other services), and runs your command with the variables of
verify (TENZRO_API_URL, TENZRO_API_KEY, TENZRO_TENANT_ID, OTEL_EXPORTER_OTLP_ENDPOINT,
TENZRO_HEARTBEAT_TIMEOUT_MS). At --revoke-at it revokes every key of the tenant in one call, as an
incident response does, and judges:
  incident/streams-closed            every stream of the tenant closed within one heartbeat
  incident/nothing-after-revocation  no request succeeded and no event was sent afterwards
  incident/client-stops              the client sent at most 10 requests after its first refusal
  auth/no-hot-loop-after-401         no burst of requests after a 401
  secrets/no-leak                    the key is nowhere in its output, logs or spans
Writes report.html (with the incident timeline), report.json, junit.xml and audit.ndjson: every
authentication attempt of the run (time, key id, outcome, code, route, source address, network,
request id; never a secret).

Options:
  --revoke-at <s>         when to revoke, counted from the client's first request (default 8)
  --duration <s>          how long the command runs (default 16)
  --sentinels <n>         sentinel streams on other keys of the tenant, 0..10 (default 2)
  --heartbeat-ms <n>      the heartbeat the streams must close within (default: the embedded mock's,
                          1000; give the target's with --target)
  --target <url>          a running mock instead of an embedded one (its control API must answer)
  --control-token <t>     X-Harness-Token for the target's control API
  --log-file <path>       a log file your client writes, scanned for the key (repeatable)
  --scan-dir <dir>        a directory to scan for the key (repeatable)
  --report-dir <dir>      where the reports go (default reports/drill)
  --seed <n>              seed of the mock (default 1)
  --strict                a check the drill could not exercise (e.g. auth/no-hot-loop-after-401 when
                          the client sent nothing after the revocation) fails instead of skipping
  --quiet                 no progress lines
  -h, --help              this help

Exit codes: 0 every check passed (or skipped, without --strict), 1 a check failed, 2 bad usage,
3 the client or the target could not run.

Examples:
  tenzro-harness drill incident --revoke-at 10 -- node my-client.js
  tenzro-harness drill incident --strict -- node my-client.js      # a go-live gate: skipped is failed
`

export async function cmdDrill (argv: string[], io: Io, { UsageError, int, url, report, finish, couldNotRun }: CliParts): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '-h' || name === '--help') { io.out(DRILL_HELP); return name === undefined ? EXIT.usage : EXIT.pass }
  if (name !== 'incident') throw new UsageError(`unknown drill ${JSON.stringify(name)}; known: incident (rotation, hostile and environments are verify profiles)`)
  const dash = rest.indexOf('--')
  const own = dash === -1 ? rest : rest.slice(0, dash)
  const command = dash === -1 ? [] : rest.slice(dash + 1)
  const { values, positionals } = parseArgs({
    args: own,
    allowPositionals: true,
    strict: true,
    options: {
      'revoke-at': { type: 'string' }, duration: { type: 'string' }, sentinels: { type: 'string' }, 'heartbeat-ms': { type: 'string' },
      target: { type: 'string' }, 'control-token': { type: 'string' }, 'log-file': { type: 'string', multiple: true }, 'scan-dir': { type: 'string', multiple: true },
      'report-dir': { type: 'string' }, seed: { type: 'string' }, quiet: { type: 'boolean' }, strict: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) { io.out(INCIDENT_HELP); return EXIT.pass }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}: put the client command after --`)
  if (command.length === 0) throw new UsageError('no client command: tenzro-harness drill incident [options] -- <command> [args...]')
  const base = DRILL_PROFILES.incident!
  const durationS = int('--duration', values.duration, 2, 86_400) ?? base.durationS
  const revokeAtS = int('--revoke-at', values['revoke-at'], 1, 86_400) ?? base.drill!.incident!.atS
  if (revokeAtS >= durationS) throw new UsageError(`--revoke-at (${revokeAtS} s) must come before the end of the run (--duration ${durationS} s)`)
  const sentinels = int('--sentinels', values.sentinels, 0, 10) ?? base.drill!.incident!.sentinels
  const heartbeatMs = int('--heartbeat-ms', values['heartbeat-ms'], 1, 600_000)
  const seed = int('--seed', values.seed, 0, 2 ** 32 - 1)
  const target = url('--target', values.target)
  const profile: Profile = {
    ...base,
    durationS,
    ...(heartbeatMs === undefined ? {} : { mock: { ...base.mock, events: { ...base.mock.events, heartbeatMs } } }),
    drill: { incident: { atS: revokeAtS, sentinels } }
  }
  const dir = resolve(values['report-dir'] ?? 'reports/drill')
  const started = Date.now()
  const s = await runSession({
    name: 'incident',
    profile,
    command,
    ...(target === undefined ? {} : { target: { url: target, controlToken: values['control-token'] } }),
    logFiles: values['log-file'] ?? [],
    scanDirs: values['scan-dir'] ?? [],
    ...(seed === undefined ? {} : { seed }),
    mockLogFile: join(dir, 'mock.log'),
    auditFile: join(dir, 'audit.ndjson'),
    clientOutputPrefix: join(dir, 'client'),
    onProgress: values.quiet === true ? undefined : (l) => io.err(`tenzro-harness: ${l}\n`)
  })
  const c = couldNotRun('drill incident', s)
  const code = finish(report('drill', [s.suite], started, s.target, values.strict === true), dir, io, c === undefined ? [] : [c])
  io.out(`audit trail: ${join(dir, 'audit.ndjson')}\n`)
  return code
}
