// One judged run of a client: start (or reach) the mock, make a tenant and a canary key, set the
// fault profile, run the client command with TENZRO_API_URL / TENZRO_API_KEY / TENZRO_TENANT_ID /
// OTEL_EXPORTER_OTLP_ENDPOINT, stop it after the duration (SIGTERM, then SIGKILL), and judge what it
// did from the mock's record, its output, its log files and its spans.
import { spawn } from 'node:child_process'
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../mock-server/src/app.ts'
import { resolveConfig, type MockConfigInput } from '../../mock-server/src/config.ts'
import { runChecks } from './checks/index.ts'
import type { CheckResult } from './checks/types.ts'
import { createControl, type Control } from './control.ts'
import type { AnyEntry, CapturedOutput, Evidence } from './evidence.ts'
import { startLagProbe } from './lag.ts'
import { createLeakScanner, redactFindings } from './scan/index.ts'
import { createOtlpReceiver, type OtlpReceiver } from './otlp/index.ts'
import { faultCoverage } from './coverage.ts'
import { LOADER_REQUEST_PREFIX, startLoader, type LoaderStats } from './loader.ts'
import type { Profile } from './profiles.ts'
import { summariseRecord, type SuiteReport } from './report/model.ts'
import { auditNdjson, auditTrail, buildTimeline } from './drills/audit.ts'
import { prepareDrills, SENTINEL_REQUEST_PREFIX } from './drills/runtime.ts'

export interface SessionOptions {
  name: string
  profile: Profile
  /** The client command and its arguments. */
  command: string[]
  cwd?: string
  /** Extra environment for the client. */
  env?: Record<string, string>
  /** A running mock instead of an embedded one. */
  target?: { url: string, controlToken?: string | undefined }
  /**
   * Serve the embedded mock over HTTPS with a CA made for the run: the client gets TENZRO_CA_FILE and
   * NODE_EXTRA_CA_CERTS. The harness's own control calls go to a plain loopback listener of the same
   * app, so the TLS faults meet the client only.
   */
  tls?: boolean
  durationMs?: number
  logFiles?: string[]
  scanDirs?: string[]
  otlpForward?: string | undefined
  maxRetries?: number
  toleranceMs?: number
  seed?: number
  /** Where the embedded mock writes its log (the harness's own output, scanned by the self-check test). */
  mockLogFile?: string | undefined
  killGraceMs?: number
  /** Longest wait for the client's first request before the profile's clock starts anyway (default 10 s). */
  startGraceMs?: number
  onProgress?: (line: string) => void
  /** Where the audit trail (every authentication attempt of the run, NDJSON) is written. */
  auditFile?: string | undefined
  /** Where the client's stdout and stderr are kept (`<prefix>.stdout.log`, `<prefix>.stderr.log`), every leak redacted. */
  clientOutputPrefix?: string | undefined
}

export interface SessionResult {
  suite: SuiteReport
  /** How the client ended; `spawnError` when it could not be started at all. */
  client: { exitCode: number | null, signal: string | null, spawnError?: string, stoppedByHarness: boolean, requests: number, stderrTail: string }
  target: string
}

const OUTPUT_CAP = 64 * 1024 * 1024
/** Lines of the client's stderr shown when it could not run. */
const STDERR_TAIL_LINES = 8
const START_GRACE_MS = 10_000

function toBytes (text: string | Uint8Array): Uint8Array {
  return typeof text === 'string' ? Buffer.from(text, 'utf8') : text
}

class Capture extends Writable {
  chunks: Buffer[] = []
  bytes = 0
  truncated = false
  override _write (chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    if (this.bytes < OUTPUT_CAP) { this.chunks.push(chunk); this.bytes += chunk.length } else this.truncated = true
    cb()
  }

  text (): Buffer { return Buffer.concat(this.chunks) }
}

interface EmbeddedMock { app: FastifyInstance, url: string, controlUrl: string, caFile: string | undefined, close (): Promise<void> }

async function startEmbeddedMock (mock: MockConfigInput, seed: number | undefined, logFile: string | undefined, tls: boolean): Promise<EmbeddedMock> {
  if (logFile !== undefined) mkdirSync(dirname(logFile), { recursive: true })
  const logStream = logFile === undefined ? new Writable({ write (_c, _e, cb) { cb() } }) : createWriteStream(logFile, { flags: 'w' })
  let material: import('../../mock-server/src/tls/certs.ts').TlsMaterial | undefined
  if (tls) {
    const { generateTlsMaterial } = await import('../../mock-server/src/tls/certs.ts')
    material = generateTlsMaterial(mkdtempSync(join(tmpdir(), 'tenzro-harness-tls-')))
  }
  const app = await buildApp(resolveConfig({ ...mock, port: 0, host: '127.0.0.1', logLevel: 'info', ...(seed === undefined ? {} : { seed }) }), { logStream, ...(material === undefined ? {} : { tls: material }) })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const a = app.server.address()
  const port = typeof a === 'object' && a !== null ? a.port : 0
  let plain: Server | undefined
  let controlUrl = `http://127.0.0.1:${port}`
  if (material !== undefined) {
    // The same app's router behind a second, plain listener on loopback: the harness's control calls.
    const server = createServer(app.routing)
    await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
    plain = server
    const p = server.address()
    controlUrl = `http://127.0.0.1:${typeof p === 'object' && p !== null ? p.port : 0}`
  }
  return {
    app,
    url: material === undefined ? controlUrl : `https://localhost:${port}`,
    controlUrl,
    caFile: material?.caFile,
    async close () {
      plain?.closeAllConnections()
      await new Promise<void>((resolve) => { if (plain === undefined) resolve(); else plain.close(() => { resolve() }) })
      await app.close()
      if (material !== undefined) rmSync(material.dir, { recursive: true, force: true })
    }
  }
}

/** Wait until `count()` has not changed for `quietMs`, at most `maxMs`. */
async function settle (count: () => number, quietMs: number, maxMs: number): Promise<void> {
  const end = Date.now() + maxMs
  let last = count()
  let since = Date.now()
  while (Date.now() < end && Date.now() - since < quietMs) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    const n = count()
    if (n !== last) { last = n; since = Date.now() }
  }
}

export async function runSession (o: SessionOptions): Promise<SessionResult> {
  const progress = o.onProgress ?? (() => {})
  const durationMs = o.durationMs ?? o.profile.durationS * 1000
  const started = Date.now()
  let embedded: EmbeddedMock | undefined
  let receiver: OtlpReceiver | undefined
  let lagProbe: ReturnType<typeof startLagProbe> | undefined
  try {
    if (o.target === undefined) embedded = await startEmbeddedMock(o.profile.mock, o.seed, o.mockLogFile, o.tls === true || o.profile.tls === true)
    const url = o.target?.url ?? embedded!.url
    const control: Control = createControl(o.target?.url ?? embedded!.controlUrl, o.target?.controlToken)
    await control.health()
    receiver = await createOtlpReceiver({ host: '127.0.0.1', port: 0, ...(o.otlpForward === undefined ? {} : { forwardTo: o.otlpForward }) })

    const network = o.profile.drill?.network
    const { tenant, key } = await control.createTenant({ ...(o.profile.keyRateLimit === undefined ? {} : { rateLimit: o.profile.keyRateLimit }), ...(network === undefined ? {} : { network }) })
    // Every fault is scoped to this tenant, so a shared --target mock serves other tenants untouched.
    const faults = o.profile.faults.map((f) => ({ ...f, scope: { ...f.scope, tenant: tenant.id } }))
    await control.setFaults({ ...(o.seed === undefined ? {} : { seed: o.seed }), faults })
    const startSeq = (await control.recordStats()).lastSeq
    progress(`${o.name}: mock ${url}, tenant ${tenant.slug}, key ${key.id}, ${faults.length} faults, ${Math.round(durationMs / 1000)} s`)

    const drills = await prepareDrills({ spec: o.profile.drill, control, baseUrl: url, tenant, key, keyRateLimit: o.profile.keyRateLimit, heartbeatMs: resolveConfig(o.profile.mock).events.heartbeatMs, progress: (l) => progress(`${o.name}: ${l}`) })
    const env: Record<string, string> = {
      ...process.env as Record<string, string>,
      ...o.profile.clientEnv,
      ...drills.env,
      ...o.env,
      TENZRO_API_URL: url,
      TENZRO_API_KEY: key.key,
      TENZRO_TENANT_ID: tenant.id,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      // The CA of the TLS mode, for clients that take a CA file and for Node, which reads this at start.
      ...(embedded?.caFile === undefined ? {} : { TENZRO_CA_FILE: embedded.caFile, NODE_EXTRA_CA_CERTS: embedded.caFile })
    }
    const stdout = new Capture()
    const stderr = new Capture()
    const child = spawn(o.command[0]!, o.command.slice(1), { cwd: o.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.pipe(stdout)
    child.stderr.pipe(stderr)
    let spawnError: string | undefined
    let exitedAtMs = 0
    let stoppedByHarness = false
    let revokedAtMs: number | undefined
    const exited = new Promise<{ code: number | null, signal: string | null }>((resolve) => {
      child.once('error', (err) => { spawnError = (err as NodeJS.ErrnoException).code ?? err.message; resolve({ code: null, signal: null }) })
      child.once('close', (code, signal) => { exitedAtMs = Date.now(); resolve({ code, signal }) })
    })
    const timers: NodeJS.Timeout[] = []
    lagProbe = startLagProbe()
    let childDone = false
    void exited.then(() => { childDone = true })
    // The profile's clock (the revocation, the end of the run) starts at the client's first request,
    // or START_GRACE_MS after the spawn without one: a slow start (a cold runtime, a loaded CI machine)
    // then costs the timeline nothing, and a profile's faults land at the same moments for every client.
    let clockAt: number | undefined
    // shared-key: the noisy neighbour runs from the client's first request to the revocation or the end.
    let loader: ReturnType<typeof startLoader> | undefined
    let loaderStats: LoaderStats | undefined
    const stopLoader = async () => {
      if (loader !== undefined && loaderStats === undefined) loaderStats = await loader.stop()
    }
    const startClock = () => {
      if (clockAt !== undefined) return
      clockAt = Date.now()
      drills.start()
      if (o.profile.loader !== undefined) {
        const windowMs = resolveConfig(o.profile.mock).rateLimit.windowMs
        const limit = o.profile.keyRateLimit ?? resolveConfig(o.profile.mock).rateLimit.limit
        const ratePerS = o.profile.loader.share * limit / (windowMs / 1000)
        const fixed = resolveConfig(o.profile.mock).rateLimit.algorithm === 'fixed-window'
        loader = startLoader({ baseUrl: url, apiKey: key.key, tenantId: tenant.id, ratePerS, ...(fixed ? { alignToWindowMs: windowMs } : {}) })
        progress(`${o.name}: noisy neighbour on the same key at ${ratePerS.toFixed(1)} requests/s (${o.profile.loader.share}x its limit of ${limit} per ${windowMs / 1000} s)`)
      }
      if (o.profile.revokeAtS !== undefined && o.profile.revokeAtS * 1000 < durationMs) {
        timers.push(setTimeout(() => {
          void stopLoader()
          revokedAtMs = Date.now()
          control.revokeKey(key.id).then(() => progress(`${o.name}: key revoked at +${o.profile.revokeAtS} s`), (err) => progress(`${o.name}: revoking the key failed: ${(err as Error).message}`))
        }, o.profile.revokeAtS * 1000))
      }
      timers.push(setTimeout(() => {
        stoppedByHarness = true
        child.kill('SIGTERM')
        timers.push(setTimeout(() => { child.kill('SIGKILL') }, o.killGraceMs ?? 5000))
      }, durationMs))
    }
    const startWatch = (async () => {
      const deadline = Date.now() + (o.startGraceMs ?? START_GRACE_MS)
      let seen = startSeq
      while (clockAt === undefined && !childDone && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        try {
          const { lastSeq } = await control.recordStats()
          if (lastSeq <= seen) continue
          const fresh = await control.record(seen)
          seen = lastSeq
          // The client's first request; the drills' sentinel streams are the harness's own.
          if (fresh.some((e) => ((e as Record<string, unknown>).tenant === tenant.id || (e as Record<string, unknown>).keyId === key.id) && !String((e as Record<string, unknown>).requestId).startsWith(SENTINEL_REQUEST_PREFIX))) break
        } catch { /* the control API hiccuped: try again */ }
      }
      if (!childDone) startClock()
    })()
    const tick = setInterval(() => progress(`${o.name}: +${Math.round((Date.now() - started) / 1000)} s`), 5000)
    const exit = await exited
    await startWatch
    await stopLoader()
    clearInterval(tick)
    for (const t of timers) clearTimeout(t)
    await drills.stop()
    if (spawnError !== undefined) child.kill('SIGKILL')
    const endMs = Date.now()
    const lag = lagProbe.stop()
    // Let the client's last span batch arrive (exporters flush on shutdown).
    await settle(() => receiver!.spans().length, 300, 3000)

    const planStats = await control.faults().then((p) => p.stats, () => [])
    const all = await control.record(startSeq)
    const record = all.filter((e) => {
      const x = e as Record<string, unknown>
      // The noisy neighbour's own requests are the harness's, not the client's.
      if (typeof x.requestId === 'string' && x.requestId.startsWith(LOADER_REQUEST_PREFIX)) return false
      if (o.target === undefined) return x.route === undefined || !String(x.route).startsWith('/__harness')
      return x.tenant === tenant.id || x.keyId === key.id
    })
    const outputs: CapturedOutput[] = [{ source: 'stdout', text: stdout.text() }, { source: 'stderr', text: stderr.text() }]
    for (const f of o.logFiles ?? []) {
      try {
        if (statSync(f).isFile()) outputs.push({ source: `log:${f}`, text: readFileSync(f) })
      } catch { outputs.push({ source: `log:${f} (missing)`, text: '' }) }
    }
    const evidence: Evidence = {
      record,
      keyIds: [key.id, ...drills.clientKeyIds],
      canaries: [key.key, ...drills.canaries],
      outputs,
      scanDirs: o.scanDirs ?? [],
      spans: receiver.spans(),
      setup: {
        retryMs: resolveConfig(o.profile.mock).events.retryMs,
        heartbeatMs: resolveConfig(o.profile.mock).events.heartbeatMs,
        stallDetectMs: o.profile.stallDetectMs,
        resyncWithinMs: o.profile.resyncWithinMs,
        toleranceMs: o.toleranceMs ?? 50,
        maxRetries: o.maxRetries ?? 5,
        revokedAtMs,
        endMs,
        lag,
        drills: drills.setup({ exitCode: exit.code, signal: exit.signal, exitedAtMs: exitedAtMs || endMs, stoppedByHarness })
      }
    }
    const checks: CheckResult[] = spawnError === undefined ? await runChecks(evidence, o.profile.checks) : []
    const requests = record.filter((e) => e.type === 'request').length
    const suite: SuiteReport = {
      name: o.name,
      description: o.profile.description,
      startedAt: new Date(started).toISOString(),
      durationMs: endMs - started,
      checks,
      coverage: faultCoverage(faults, planStats, record, [key.id, ...drills.clientKeyIds]),
      ...summariseRecord(record, [key.id, ...drills.clientKeyIds], started, endMs)
    }
    const audit = auditTrail(record)
    if (o.auditFile !== undefined) {
      mkdirSync(dirname(o.auditFile), { recursive: true })
      writeFileSync(o.auditFile, auditNdjson(audit))
    }
    if (o.profile.drill !== undefined) suite.drillTimeline = buildTimeline(drills.actions(), record, audit, drills.sentinelKeyIds).map((t) => ({ ...t, offsetMs: t.at - started }))
    suite.stats.clientExit = spawnError !== undefined ? `could not start (${spawnError})` : exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`
    suite.stats.spans = evidence.spans.length
    if (loaderStats !== undefined) {
      suite.stats.neighbourRequests = loaderStats.sent
      suite.stats.neighbour429 = loaderStats.limited
    }
    if (stdout.truncated || stderr.truncated) suite.stats.outputTruncatedAtBytes = OUTPUT_CAP
    // The client's own output, kept next to the verdicts with every leak the scanner finds redacted
    // (the leak itself is reported by secrets/no-leak, with a redacted preview).
    const scanner = createLeakScanner({ canaries: evidence.canaries })
    const redacted = outputs.slice(0, 2).map((out) => redactFindings(toBytes(out.text), scanner.scan(out.text, out.source)))
    if (o.clientOutputPrefix !== undefined) {
      mkdirSync(dirname(o.clientOutputPrefix), { recursive: true })
      writeFileSync(`${o.clientOutputPrefix}.stdout.log`, redacted[0]!)
      writeFileSync(`${o.clientOutputPrefix}.stderr.log`, redacted[1]!)
    }
    const stderrTail = redacted[1]!.toString('utf8').trimEnd().split('\n').slice(-STDERR_TAIL_LINES).join('\n')
    return { suite, client: { exitCode: exit.code, signal: exit.signal, ...(spawnError === undefined ? {} : { spawnError }), stoppedByHarness, requests, stderrTail }, target: url }
  } finally {
    lagProbe?.stop()
    await receiver?.close().catch(() => {})
    await embedded?.close().catch(() => {})
  }
}

export type { AnyEntry }
