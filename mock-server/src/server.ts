// The `tenzro-mock` command (contract 7.5). The only place of the mock that reads flags, the
// environment and files, and that listens. Exit codes: 0 stopped cleanly, 2 bad usage or config,
// 3 could not start (port taken, store unreachable).
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import pino from 'pino'
import { ConfigError, resolveConfig, type MockConfigInput } from './config.ts'

export const HELP = `tenzro-mock: a mock of the Tenzro Platform API for testing integrations

Usage: tenzro-mock [options]

Options:
  --host <addr>              address to listen on (default 127.0.0.1)          TENZRO_MOCK_HOST
  --port <n>                 port; 0 picks a free one (default 4010)             TENZRO_MOCK_PORT
  --seed <n>                 seed for fixtures and faults (default 1)            TENZRO_MOCK_SEED
  --control-token <t>        require X-Harness-Token on /__harness               TENZRO_MOCK_CONTROL_TOKEN
  --config <file>            JSON config file (see README, "Configuration")      TENZRO_MOCK_CONFIG
  --rate-limit-store <s>     memory (default) or redis://host:port              TENZRO_MOCK_RATE_LIMIT_STORE
  --rate-limit <n>           requests per window per key (default 100)           TENZRO_MOCK_RATE_LIMIT_LIMIT
  --rate-limit-window-ms <n> window length in ms (default 60000)                TENZRO_MOCK_RATE_LIMIT_WINDOW_MS
  --events <backend>         memory (default) or nats://host:port               TENZRO_MOCK_EVENTS
  --events-rate <n>          background events per second per tenant (0 = off)   TENZRO_MOCK_EVENTS_RATE_PER_S
  --log-level <level>        fatal|error|warn|info|debug|trace|silent            TENZRO_MOCK_LOG_LEVEL
  -h, --help                 show this help

Once listening it prints one line to standard output:
  tenzro-mock listening on http://<host>:<port>
Logs are JSON lines (pino) on standard error. Get a tenant and key with:
  curl -s -X POST http://127.0.0.1:4010/__harness/tenants -H 'content-type: application/json' -d '{}'
`

export class UsageError extends Error {
  readonly code = 'invalid_usage'
}

function int (name: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`${name} must be a whole number, got ${JSON.stringify(v)}`)
  return Number(v)
}

/** Flags over environment over config file over defaults. Throws UsageError or ConfigError. */
export function parseCli (argv: string[], env: NodeJS.ProcessEnv): { help: boolean, input: MockConfigInput } {
  let values
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        seed: { type: 'string' },
        'control-token': { type: 'string' },
        config: { type: 'string' },
        'rate-limit-store': { type: 'string' },
        'rate-limit': { type: 'string' },
        'rate-limit-window-ms': { type: 'string' },
        events: { type: 'string' },
        'events-rate': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }).values
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values.help === true) return { help: true, input: {} }
  const pick = (flag: string | undefined, envName: string) => flag ?? env[envName]
  let input: MockConfigInput = {}
  const file = pick(values.config, 'TENZRO_MOCK_CONFIG')
  if (file !== undefined) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new UsageError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
    }
    try {
      input = JSON.parse(text) as MockConfigInput
    } catch {
      throw new UsageError(`config file ${file} is not valid JSON`)
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new UsageError(`config file ${file} must hold a JSON object`)
  }
  const host = pick(values.host, 'TENZRO_MOCK_HOST')
  const port = pick(values.port, 'TENZRO_MOCK_PORT')
  const seed = pick(values.seed, 'TENZRO_MOCK_SEED')
  const token = pick(values['control-token'], 'TENZRO_MOCK_CONTROL_TOKEN')
  const store = pick(values['rate-limit-store'], 'TENZRO_MOCK_RATE_LIMIT_STORE')
  const limit = pick(values['rate-limit'], 'TENZRO_MOCK_RATE_LIMIT_LIMIT')
  const windowMs = pick(values['rate-limit-window-ms'], 'TENZRO_MOCK_RATE_LIMIT_WINDOW_MS')
  const events = pick(values.events, 'TENZRO_MOCK_EVENTS')
  const eventsRate = pick(values['events-rate'], 'TENZRO_MOCK_EVENTS_RATE_PER_S')
  const logLevel = pick(values['log-level'], 'TENZRO_MOCK_LOG_LEVEL')
  if (host !== undefined) input.host = host
  if (port !== undefined) input.port = int('--port', port)
  if (seed !== undefined) input.seed = int('--seed', seed)
  if (token !== undefined) input.controlToken = token
  if (logLevel !== undefined) input.logLevel = logLevel as MockConfigInput['logLevel']
  if (store !== undefined || limit !== undefined || windowMs !== undefined) {
    input.rateLimit = { ...input.rateLimit }
    if (store !== undefined) input.rateLimit.store = store
    if (limit !== undefined) input.rateLimit.limit = int('--rate-limit', limit)
    if (windowMs !== undefined) input.rateLimit.windowMs = int('--rate-limit-window-ms', windowMs)
  }
  if (events !== undefined || eventsRate !== undefined) {
    input.events = { ...input.events }
    if (events !== undefined) input.events.backend = events
    if (eventsRate !== undefined) {
      const r = Number(eventsRate)
      if (!Number.isFinite(r)) throw new UsageError(`--events-rate must be a number, got ${JSON.stringify(eventsRate)}`)
      input.events.generatorRate = r
    }
  }
  return { help: false, input }
}

export async function main (argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let parsed
  let config
  try {
    parsed = parseCli(argv, env)
    if (parsed.help) { process.stdout.write(HELP); return 0 }
    config = resolveConfig(parsed.input)
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`tenzro-mock: ${err.message}\n(${err.code}; see tenzro-mock --help)\n`)
      return 2
    }
    throw err
  }
  let app
  let tracing: { shutdown (): Promise<void> } | undefined
  try {
    // Loaded only once the options are good: usage errors and --help answer without loading the app.
    const { buildApp } = await import('./app.ts')
    // Traces only when OTEL_* asks for them; the OpenTelemetry SDK is loaded only then, and
    // NodeSDK reads its settings from process.env.
    const { startTracing, tracingConfigured } = await import('./telemetry/sdk.ts')
    const started = tracingConfigured(env) ? await startTracing() : undefined
    tracing = started
    app = await buildApp(config, { logStream: pino.destination({ fd: 2, sync: false }), tracer: started?.tracer })
    await app.listen({ host: config.host, port: config.port })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    process.stderr.write(`tenzro-mock: could not start: ${e.code ?? ''} ${e.message}\n`)
    await app?.close().catch(() => {})
    await tracing?.shutdown().catch(() => {})
    return 3
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : config.port
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  process.stdout.write(`tenzro-mock listening on http://${host}:${port}\n`)
  await new Promise<void>((resolve) => {
    const stop = () => { resolve() }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await app.close()
  // Exports the spans still queued.
  await tracing?.shutdown().catch(() => {})
  return 0
}
