// SSE fan-out benchmark: the mock's event stream against a minimal node:http SSE server as
// the baseline, measured side by side in one run, each server in its own child process so its RSS is
// its own.
//
//   node bench/sse.ts                      1,000 concurrent streams (default)
//   node bench/sse.ts --streams 10000      10,000 streams (or TENZRO_BENCH_SSE_STREAMS=10000)
//   node bench/sse.ts --duration 20        seconds of publishing per server and round (default 10)
//   node bench/sse.ts --rounds 4           rounds, alternating which server goes first (default 2)
//   TENZRO_BENCH_SSE_SEMI_SPACE_MB=16      young-generation semi-space of both servers (default 8)
//
// Load: the streams are split over G groups (tenants for the mock, channels for the baseline). Every
// second each group gets one event, the groups staggered over the second, so every stream receives one
// event per second. Reported per server: p50/p99 delivery delay (publish in the server process to
// receipt in the client process, both on performance.timeOrigin + now()) and RSS per stream: the
// marginal cost, (RSS with all streams - RSS with half of them) / streams in between, after a GC, so
// one-time costs of the first connections cancel out; the JS heap per stream the same way; and what
// the publishing phase adds (the mock's record of every frame, bounded). Goals: RSS per stream
// <= 1.25x the baseline's, p99 delay <= 1.5x the baseline's. Also: replaying 10,000 events from the
// memory backend to one reconnecting client (Last-Event-ID: 0), goal < 100 ms.
//
// `benchSse(opts)` is what bench/run.ts calls; the same file runs as a server child with --serve.
import { fork, type ChildProcess } from 'node:child_process'
import { Agent, createServer, request, type ServerResponse } from 'node:http'
import { openSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

export interface BenchSseOptions {
  /** Concurrent streams per server (default 1,000; env TENZRO_BENCH_SSE_STREAMS). */
  streams?: number
  /** Seconds of publishing per server (default 10). */
  durationS?: number
  /** Groups the streams are split over (default 10). */
  groups?: number
  /** Events replayed to one reconnecting client (default 10,000). */
  replayEvents?: number
  /** Replay rounds; the median is reported (default 5). */
  replayRounds?: number
  /** Fan-out rounds, alternating which server goes first; medians are reported (default 2). */
  rounds?: number
}

type Kind = 'mock' | 'baseline'
interface ServeSpec { kind: Kind, groups: number, replayEvents: number }
interface Ready { port: number, keys: Array<{ key: string, tenantId: string }>, replay?: { key: string, tenantId: string } }

const SELF = fileURLToPath(import.meta.url)
const WARMUP_S = 1
const now = () => performance.timeOrigin + performance.now()

// ---------------------------------------------------------------------------------------------------
// Server side (child process)

async function serve (spec: ServeSpec): Promise<void> {
  const send = (m: unknown) => { process.send?.(m) }
  let publish: (group: number) => void
  let ready: Ready

  if (spec.kind === 'mock') {
    const { buildApp } = await import('../mock-server/src/app.ts')
    const { resolveConfig } = await import('../mock-server/src/config.ts')
    const pino = (await import('pino')).default
    const tenants = Array.from({ length: spec.groups }, (_, g) => ({ slug: `bench${g}` }))
    // The default mock (auth, rate limit, record, logging at info to /dev/null), with limits no stream
    // count reaches and a log that holds the replay.
    const app = await buildApp(resolveConfig({
      logLevel: 'info',
      tenants: [...tenants, { slug: 'replay' }],
      walletsPerTenant: 0,
      rateLimit: { limit: 1_000_000_000, maxStreamsPerKey: 100_000 },
      events: { capacity: Math.max(10_000, spec.replayEvents) }
    }), { logStream: pino.destination({ dest: openSync('/dev/null', 'w'), sync: false }) })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const keys = tenants.map((t) => {
      const tenant = app.mock.keys.tenant(t.slug)!
      return { key: app.mock.keys.createKey(tenant, { name: 'bench' }).key, tenantId: tenant.id }
    })
    const replayTenant = app.mock.keys.tenant('replay')!
    for (let i = 0; i < spec.replayEvents; i++) await app.mock.events.publish(replayTenant.id, 'ledger.entry.created', { i, amount: '12.34', direction: 'credit' })
    const addr = app.server.address()
    ready = {
      port: typeof addr === 'object' && addr !== null ? addr.port : 0,
      keys,
      replay: { key: app.mock.keys.createKey(replayTenant, { name: 'replay' }).key, tenantId: replayTenant.id }
    }
    publish = (g) => { void app.mock.events.publish(keys[g]!.tenantId, 'bench.tick', { t: now() }) }
  } else {
    // The baseline: what a minimal SSE fan-out needs and nothing more. The same frame bytes as the
    // mock's (contract 4.3 body), serialised once per event and written to each subscriber.
    const groups: Array<Set<ServerResponse>> = Array.from({ length: spec.groups }, () => new Set())
    const seqs = new Array<number>(spec.groups).fill(0)
    const tenantIds = Array.from({ length: spec.groups }, (_, g) => `00000000-0000-4000-8000-${String(g).padStart(12, '0')}`)
    const server = createServer((req, res) => {
      const g = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('g') ?? 0)
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
      res.write('retry: 1000\n\n')
      const set = groups[g]!
      set.add(res)
      res.on('close', () => set.delete(res))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const addr = server.address()
    ready = { port: typeof addr === 'object' && addr !== null ? addr.port : 0, keys: tenantIds.map((tenantId) => ({ key: 'none', tenantId })) }
    publish = (g) => {
      const seq = ++seqs[g]!
      const t = now()
      const body = { id: `evt_${seq}`, type: 'bench.tick', tenantId: tenantIds[g], timestamp: new Date(Math.floor(t)).toISOString(), data: { t } }
      const frame = Buffer.from(`id: ${seq}\nevent: bench.tick\ndata: ${JSON.stringify(body)}\n\n`)
      for (const res of groups[g]!) res.write(frame)
    }
  }

  let timer: NodeJS.Timeout | undefined
  process.on('message', (m: { op: string }) => {
    if (m.op === 'rss') {
      // Two collections a moment apart, so what is freed is also given back before RSS is read.
      const gc = (globalThis as { gc?: () => void }).gc
      gc?.()
      setTimeout(() => {
        gc?.()
        const mu = process.memoryUsage()
        send({ rss: mu.rss, heapUsed: mu.heapUsed })
      }, 200)
    } else if (m.op === 'start') {
      // One event per group per second, the groups spread evenly over the second.
      let tick = 0
      timer = setInterval(() => { publish(tick++ % spec.groups) }, 1000 / spec.groups)
      send({ started: true })
    } else if (m.op === 'stop') {
      clearInterval(timer)
      send({ stopped: true })
    } else if (m.op === 'exit') {
      // process.exit() would skip writing a --cpu-prof profile; a signal-free exit path keeps it.
      process.disconnect?.()
      setImmediate(() => process.exit(0))
    }
  })
  send(ready)
}

// ---------------------------------------------------------------------------------------------------
// Client side (parent process)

interface Child { child: ChildProcess, ready: Ready, call<T> (op: string): Promise<T> }

async function startChild (spec: ServeSpec): Promise<Child> {
  // Both servers get the same fixed young generation. Left to itself V8 grows it with the allocation
  // rate (by ~100 MB at 10,000 streams), which swamps a per-stream RSS figure with a GC heuristic.
  const semi = process.env.TENZRO_BENCH_SSE_SEMI_SPACE_MB ?? '8'
  const execArgv = ['--expose-gc', `--min-semi-space-size=${semi}`, `--max-semi-space-size=${semi}`, ...(process.env.TENZRO_BENCH_SSE_PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env.TENZRO_BENCH_SSE_PROFILE_DIR}`])]
  const child = fork(SELF, ['--serve', JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv })
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Ready))
    child.once('exit', (code) => reject(new Error(`bench ${spec.kind} server exited with ${code} before listening`)))
  })
  return {
    child,
    ready,
    call: <T> (op: string) => new Promise<T>((resolve) => {
      child.once('message', (m) => resolve(m as T))
      child.send({ op })
    })
  }
}

async function stopChild (c: Child): Promise<void> {
  if (c.child.exitCode !== null) return
  const exited = new Promise<void>((resolve) => c.child.once('exit', () => resolve()))
  c.child.send({ op: 'exit' })
  await exited
}

interface Receiver { received: number, close (): void }

/** Open one SSE stream; resolves once the response headers and the first bytes are in. */
function openStream (url: string, headers: Record<string, string>, agent: Agent, onBlock: (block: string) => void): Promise<Receiver> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { accept: 'text/event-stream', ...headers } })
    req.on('error', reject)
    req.on('response', (res) => {
      if (res.statusCode !== 200) { reject(new Error(`stream answered ${res.statusCode}`)); res.resume(); return }
      res.setEncoding('latin1')
      let buf = ''
      const r: Receiver = { received: 0, close: () => req.destroy() }
      let first = true
      res.on('data', (chunk: string) => {
        buf += chunk
        let i: number
        while ((i = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          if (block.startsWith('retry:') || block.startsWith(':')) continue
          r.received++
          onBlock(block)
        }
        if (first) { first = false; resolve(r) }
      })
      res.on('error', () => {})
    })
    req.end()
  })
}

function percentile (sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

interface FanoutResult {
  streams: number
  expectedEvents: number
  deliveredEvents: number
  p50DelayMs: number
  p99DelayMs: number
  maxDelayMs: number
  /** RSS before any stream, after start-up. */
  rssBeforeMb: number
  /** RSS with every stream open, before any event. */
  rssWithStreamsMb: number
  /**
   * Marginal RSS per stream: (RSS with all streams - RSS with half of them) / (streams opened in
   * between). One-time costs of the first connections (JIT, pools, heap reservations) cancel out.
   */
  rssPerStreamKb: number
  /** The same slope for the JS heap in use (after GC): the server's own objects, without sockets. */
  heapPerStreamKb: number
  /** RSS after the publishing phase, streams still open. */
  rssAfterEventsMb: number
  /** What the publishing phase added (for the mock: its request record, one entry per frame sent). */
  rssGrowthDuringEventsMb: number
}

async function fanout (kind: Kind, streams: number, durationS: number, groups: number): Promise<FanoutResult> {
  const c = await startChild({ kind, groups, replayEvents: 0 })
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity })
  const receivers: Receiver[] = []
  try {
    const base = `http://127.0.0.1:${c.ready.port}`
    const open = (j: number, onBlock: (block: string) => void) => {
      const g = j % groups
      const k = c.ready.keys[g]!
      return kind === 'mock'
        ? openStream(`${base}/api/events/stream`, { 'x-api-key': k.key, 'x-tenant-id': k.tenantId }, agent, onBlock)
        : openStream(`${base}/stream?g=${g}`, {}, agent, onBlock)
    }
    const before = await c.call<{ rss: number, heapUsed: number }>('rss')
    const delays: number[] = []
    let measuring = false
    const onBlock = (block: string) => {
      if (!measuring) return
      const i = block.indexOf('"t":')
      if (i !== -1) delays.push(now() - Number.parseFloat(block.slice(i + 4)))
    }
    // Open in batches so the accept queue is never the thing measured; measure at half and at all.
    const step = Math.max(10, Math.min(200, Math.floor(streams / 10)))
    let half: { rss: number, heapUsed: number, at: number } | undefined
    for (let i = 0; i < streams; i += step) {
      if (i >= streams / 2 && half === undefined) half = { ...await c.call<{ rss: number, heapUsed: number }>('rss'), at: i }
      const batch: Array<Promise<Receiver>> = []
      for (let j = i; j < Math.min(streams, i + step); j++) batch.push(open(j, onBlock))
      receivers.push(...await Promise.all(batch))
    }
    const withStreams = await c.call<{ rss: number, heapUsed: number }>('rss')
    const h = half ?? { ...before, at: 0 }
    const opened = streams - h.at
    await c.call('start')
    await new Promise((resolve) => setTimeout(resolve, WARMUP_S * 1000))
    measuring = true
    await new Promise((resolve) => setTimeout(resolve, durationS * 1000))
    measuring = false
    await c.call('stop')
    const after = await c.call<{ rss: number }>('rss')
    const sorted = Float64Array.from(delays).sort()
    return {
      streams,
      expectedEvents: streams * durationS,
      deliveredEvents: delays.length,
      p50DelayMs: percentile(sorted, 0.5),
      p99DelayMs: percentile(sorted, 0.99),
      maxDelayMs: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
      rssBeforeMb: before.rss / 1048576,
      rssWithStreamsMb: withStreams.rss / 1048576,
      rssPerStreamKb: (withStreams.rss - h.rss) / opened / 1024,
      heapPerStreamKb: (withStreams.heapUsed - h.heapUsed) / opened / 1024,
      rssAfterEventsMb: after.rss / 1048576,
      rssGrowthDuringEventsMb: (after.rss - withStreams.rss) / 1048576
    }
  } finally {
    for (const r of receivers) r.close()
    agent.destroy()
    await stopChild(c)
  }
}

/** Time from request to the last of `events` replayed events, for a client resuming from id 0. */
async function replay (events: number, rounds: number): Promise<{ events: number, rounds: number, medianMs: number, maxMs: number, eachMs: number[] }> {
  const c = await startChild({ kind: 'mock', groups: 1, replayEvents: events })
  const agent = new Agent({ keepAlive: false })
  try {
    const k = c.ready.replay!
    const url = `http://127.0.0.1:${c.ready.port}/api/events/stream`
    const times: number[] = []
    for (let r = 0; r < rounds + 1; r++) {
      const t0 = performance.now()
      let done: () => void = () => {}
      const finished = new Promise<void>((resolve) => { done = resolve })
      let n = 0
      const rec = await openStream(url, { 'x-api-key': k.key, 'x-tenant-id': k.tenantId, 'last-event-id': '0' }, agent, () => { if (++n === events) done() })
      await finished
      const ms = performance.now() - t0
      rec.close()
      if (r > 0) times.push(ms) // the first round warms up the JIT
    }
    const sorted = [...times].sort((a, b) => a - b)
    return { events, rounds, medianMs: sorted[sorted.length >> 1]!, maxMs: sorted[sorted.length - 1]!, eachMs: times }
  } finally {
    agent.destroy()
    await stopChild(c)
  }
}

function medianOf (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Per-field median over rounds. */
function medianResult (rs: FanoutResult[]): FanoutResult {
  const out = { ...rs[0]! }
  for (const k of Object.keys(out) as Array<keyof FanoutResult>) out[k] = medianOf(rs.map((r) => r[k]))
  return out
}

export async function benchSse (opts: BenchSseOptions = {}) {
  const streams = opts.streams ?? (Number(process.env.TENZRO_BENCH_SSE_STREAMS) || 1000)
  const durationS = opts.durationS ?? 10
  const groups = opts.groups ?? 10
  const rounds = opts.rounds ?? 2
  const b: FanoutResult[] = []
  const m: FanoutResult[] = []
  // Alternate which server goes first, so drift on a shared machine and the client's own warm-up hit both.
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) { b.push(await fanout('baseline', streams, durationS, groups)); m.push(await fanout('mock', streams, durationS, groups)) } else { m.push(await fanout('mock', streams, durationS, groups)); b.push(await fanout('baseline', streams, durationS, groups)) }
  }
  const baseline = medianResult(b)
  const mock = medianResult(m)
  const replayed = await replay(opts.replayEvents ?? 10_000, opts.replayRounds ?? 5)
  const rssRatio = mock.rssPerStreamKb / baseline.rssPerStreamKb
  const p99Ratio = mock.p99DelayMs / baseline.p99DelayMs
  return {
    name: `SSE fan-out, ${streams} streams x 1 event/s for ${durationS} s: mock vs minimal node:http SSE server (median of ${rounds} rounds)`,
    baseline,
    mock,
    rssPerStreamRatio: rssRatio,
    heapPerStreamRatio: mock.heapPerStreamKb / baseline.heapPerStreamKb,
    p99DelayRatio: p99Ratio,
    goals: { rssPerStreamRatio: '<= 1.25', p99DelayRatio: '<= 1.5', replayMedianMs: '< 100' },
    met: { rssPerStream: rssRatio <= 1.25, p99Delay: p99Ratio <= 1.5, replay: replayed.medianMs < 100 },
    replay: replayed,
    rounds: { baseline: b, mock: m }
  }
}

if (process.argv.includes('--serve')) {
  await serve(JSON.parse(process.argv[process.argv.indexOf('--serve') + 1]!) as ServeSpec)
} else if (import.meta.main) {
  const { values } = parseArgs({ options: { streams: { type: 'string' }, duration: { type: 'string' }, groups: { type: 'string' }, rounds: { type: 'string' } } })
  const result = await benchSse({
    ...(values.rounds === undefined ? {} : { rounds: Number(values.rounds) }),
    ...(values.streams === undefined ? {} : { streams: Number(values.streams) }),
    ...(values.duration === undefined ? {} : { durationS: Number(values.duration) }),
    ...(values.groups === undefined ? {} : { groups: Number(values.groups) })
  })
  process.stdout.write(JSON.stringify(result, (_k, v) => typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 100) / 100 : v, 2) + '\n')
}
