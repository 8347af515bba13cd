// The `tenzro-mock` command (contract 7.5). The only place of the mock that reads flags, the
// environment and files, and that listens. Exit codes: 0 stopped cleanly, 2 bad usage or config,
// 3 could not start (port taken, store unreachable).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
  --control-allow-remote     answer /__harness from other hosts too (needs       TENZRO_MOCK_CONTROL_ALLOW_REMOTE=1
                             --control-token; e.g. k6 in another container)
  --config <file>            JSON config file (see README, "Configuration")      TENZRO_MOCK_CONFIG
  --rate-limit-store <s>     memory (default) or redis://host:port              TENZRO_MOCK_RATE_LIMIT_STORE
  --rate-limit <n>           requests per window per key (default 100)           TENZRO_MOCK_RATE_LIMIT_LIMIT
  --rate-limit-window-ms <n> window length in ms (default 60000)                TENZRO_MOCK_RATE_LIMIT_WINDOW_MS
  --events <backend>         memory (default) or nats://host:port               TENZRO_MOCK_EVENTS
  --state <store>            memory (default) or redis://host:port: tenants,    TENZRO_MOCK_STATE
                             keys, wallets, idempotency, faults and the record
                             shared by every instance on it (README "Scale-out")
  --events-rate <n>          background events per second per tenant (0 = off)   TENZRO_MOCK_EVENTS_RATE_PER_S
  --workers <n>              serve the port with n processes (node:cluster)     TENZRO_MOCK_WORKERS
                             on one machine (default 1); needs --state,
                             --rate-limit-store and --events on shared
                             backends (README "Scale-out")
  --log-level <level>        fatal|error|warn|info|debug|trace|silent            TENZRO_MOCK_LOG_LEVEL
  --tls                      serve HTTPS (TLS 1.2+) with a CA made for this run  TENZRO_MOCK_TLS=1
  --tls-dir <dir>            where to write the CA and certificates (default a   TENZRO_MOCK_TLS_DIR
                             temporary directory, removed on exit)
  --header-timeout-ms <n>    408 when headers take longer (default 10000)        TENZRO_MOCK_HTTP_HEADERS_TIMEOUT_MS
  --request-timeout-ms <n>   408 when the whole request takes longer (30000)     TENZRO_MOCK_HTTP_REQUEST_TIMEOUT_MS
  --max-event-loop-delay-ms <n>  shed with 503 beyond this mean delay (1000; 0 off) TENZRO_MOCK_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS
  --metrics on|off           Prometheus metrics at GET /metrics (default on)    TENZRO_MOCK_METRICS
  -h, --help                 show this help

Once listening it prints one line to standard output:
  tenzro-mock listening on http://<host>:<port>
With --tls the URL is https:// and a second line names the CA file a client must trust:
  tenzro-mock CA certificate <file>
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
export function parseCli (argv: string[], env: NodeJS.ProcessEnv): { help: boolean, input: MockConfigInput, workers: number, tls?: { dir: string | undefined } } {
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
        'control-allow-remote': { type: 'boolean' },
        config: { type: 'string' },
        'rate-limit-store': { type: 'string' },
        'rate-limit': { type: 'string' },
        'rate-limit-window-ms': { type: 'string' },
        events: { type: 'string' },
        state: { type: 'string' },
        'events-rate': { type: 'string' },
        'log-level': { type: 'string' },
        tls: { type: 'boolean' },
        'tls-dir': { type: 'string' },
        'header-timeout-ms': { type: 'string' },
        'request-timeout-ms': { type: 'string' },
        'max-event-loop-delay-ms': { type: 'string' },
        metrics: { type: 'string' },
        workers: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }).values
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values.help === true) return { help: true, input: {}, workers: 1 }
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
  const state = pick(values.state, 'TENZRO_MOCK_STATE')
  const eventsRate = pick(values['events-rate'], 'TENZRO_MOCK_EVENTS_RATE_PER_S')
  const logLevel = pick(values['log-level'], 'TENZRO_MOCK_LOG_LEVEL')
  const metrics = pick(values.metrics, 'TENZRO_MOCK_METRICS')
  const workersText = pick(values.workers, 'TENZRO_MOCK_WORKERS')
  const workers = workersText === undefined ? 1 : int('--workers', workersText)
  if (workers < 1 || workers > 256) throw new UsageError(`--workers must be 1..256, got ${workers}`)
  if (host !== undefined) input.host = host
  if (port !== undefined) input.port = int('--port', port)
  if (seed !== undefined) input.seed = int('--seed', seed)
  if (token !== undefined) input.controlToken = token
  const allowRemote = values['control-allow-remote'] === true || env.TENZRO_MOCK_CONTROL_ALLOW_REMOTE === '1' || env.TENZRO_MOCK_CONTROL_ALLOW_REMOTE === 'true'
  if (allowRemote) {
    // Off loopback the control API can mint keys and reset the mock: only behind a token.
    if (input.controlToken === undefined) throw new UsageError('--control-allow-remote needs --control-token (TENZRO_MOCK_CONTROL_TOKEN): the control API would be open to the network')
    input.controlAllowRemote = true
  }
  if (logLevel !== undefined) input.logLevel = logLevel as MockConfigInput['logLevel']
  const headersTimeout = pick(values['header-timeout-ms'], 'TENZRO_MOCK_HTTP_HEADERS_TIMEOUT_MS')
  const requestTimeout = pick(values['request-timeout-ms'], 'TENZRO_MOCK_HTTP_REQUEST_TIMEOUT_MS')
  if (headersTimeout !== undefined || requestTimeout !== undefined) {
    input.http = { ...input.http }
    if (headersTimeout !== undefined) input.http.headersTimeoutMs = int('--header-timeout-ms', headersTimeout)
    if (requestTimeout !== undefined) input.http.requestTimeoutMs = int('--request-timeout-ms', requestTimeout)
  }
  const loopDelay = pick(values['max-event-loop-delay-ms'], 'TENZRO_MOCK_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS')
  if (loopDelay !== undefined) input.overload = { ...input.overload, maxEventLoopDelayMs: int('--max-event-loop-delay-ms', loopDelay) }
  const tlsDir = pick(values['tls-dir'], 'TENZRO_MOCK_TLS_DIR')
  const tlsOn = values.tls === true || env.TENZRO_MOCK_TLS === '1' || env.TENZRO_MOCK_TLS === 'true'
  if (state !== undefined) input.state = { ...input.state, store: state }
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
  if (metrics !== undefined) {
    if (metrics !== 'on' && metrics !== 'off') throw new UsageError(`--metrics must be on or off, got ${JSON.stringify(metrics)}`)
    input.metrics = { ...input.metrics, enabled: metrics === 'on' }
  }
  if (workers > 1 && (tlsOn || tlsDir !== undefined)) throw new UsageError('--tls serves one process; it cannot be combined with --workers')
  return { help: false, input, workers, ...(tlsOn || tlsDir !== undefined ? { tls: { dir: tlsDir } } : {}) }
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
  if (parsed.workers > 1) {
    const { isWorker, runPrimary, unsharedBackends } = await import('./workers.ts')
    const missing = unsharedBackends(config)
    if (missing.length > 0) {
      process.stderr.write(`tenzro-mock: --workers ${parsed.workers} runs ${parsed.workers} processes, which serve as one mock only on shared backends; also pass ${missing.join(', ')}\n(invalid_usage; see tenzro-mock --help)\n`)
      return 2
    }
    if (!isWorker()) return await runPrimary(parsed.workers, config)
    // The background generator's rate is for the whole mock: each worker makes its share.
    config = { ...config, events: { ...config.events, generatorRate: config.events.generatorRate / parsed.workers } }
  }
  let app
  let tracing: { shutdown (): Promise<void> } | undefined
  let tls: import('./tls/certs.ts').TlsMaterial | undefined
  const tempTlsDir = parsed.tls !== undefined && parsed.tls.dir === undefined ? mkdtempSync(join(tmpdir(), 'tenzro-mock-tls-')) : undefined
  const dropTlsDir = () => { if (tempTlsDir !== undefined) rmSync(tempTlsDir, { recursive: true, force: true }) }
  try {
    if (parsed.tls !== undefined) {
      const { generateTlsMaterial } = await import('./tls/certs.ts')
      tls = generateTlsMaterial(parsed.tls.dir ?? tempTlsDir!, config.host === '0.0.0.0' || config.host === '::' ? [] : [config.host])
    }
    // Loaded only once the options are good: usage errors and --help answer without loading the app.
    const { buildApp } = await import('./app.ts')
    // Traces only when OTEL_* asks for them; the OpenTelemetry SDK is loaded only then, and
    // NodeSDK reads its settings from process.env.
    const { startTracing, tracingConfigured } = await import('./telemetry/sdk.ts')
    const started = tracingConfigured(env) ? await startTracing() : undefined
    tracing = started
    app = await buildApp(config, { logStream: pino.destination({ fd: 2, sync: false }), tracer: started?.tracer, fast: started?.fast, ...(tls === undefined ? {} : { tls }) })
    await app.listen({ host: config.host, port: config.port })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    process.stderr.write(`tenzro-mock: could not start: ${e.code ?? ''} ${e.message}\n`)
    await app?.close().catch(() => {})
    await tracing?.shutdown().catch(() => {})
    dropTlsDir()
    return 3
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : config.port
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  if (parsed.workers > 1) (await import('./workers.ts')).reportListening(port)
  else {
    process.stdout.write(`tenzro-mock listening on ${tls === undefined ? 'http' : 'https'}://${host}:${port}\n`)
    if (tls !== undefined) process.stdout.write(`tenzro-mock CA certificate ${tls.caFile}\n`)
  }
  await new Promise<void>((resolve) => {
    const stop = () => { resolve() }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await app.close()
  // Exports the spans still queued.
  await tracing?.shutdown().catch(() => {})
  dropTlsDir()
  // A worker's channel to its primary would keep it running.
  if (parsed.workers > 1) process.disconnect?.()
  return 0
}
