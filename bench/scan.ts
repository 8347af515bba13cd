// Leak scanner throughput on realistic log text (pino JSON lines, access-log lines with
// percent-encoded queries, SSE frames, base64 cursors, trace ids), one canary, with planted leaks
// so a broken scanner cannot look fast. Baseline, measured side by side: Buffer.indexOf of the raw
// key over the same bytes. `node bench/scan.ts [sizeMb]`; `bench/run.ts` calls benchScan().
import { fileURLToPath } from 'node:url'
import { createRandom } from '../mock-server/src/domain/random.ts'
import { createLeakScanner, encodeLeak, type LeakForm } from '../harness/src/scan/index.ts'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const MIB = 1024 * 1024

export interface BenchScanOptions {
  /** Size of the generated log in MiB. Default 64. */
  sizeMb?: number
  /** Timed rounds per contender; the median is reported. Default 3. */
  rounds?: number
  seed?: number
}

export interface BenchScanResult {
  name: string
  /** MiB per second of `scan()` over one buffer. */
  mbPerSec: number
  /** MiB per second of the baseline, Buffer.indexOf of the raw key. */
  baselineMbPerSec: number
  /** mbPerSec / baselineMbPerSec. */
  ratio: number
  /** MiB per second through the stream scanner (1 MiB chunks), as scanFile reads. */
  streamMbPerSec: number
  sizeMb: number
  planted: number
  found: number
  goal: string
}

function token (random: () => number, n: number): string {
  let s = ''
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(random() * 64)]
  return s
}

function hex (random: () => number, n: number): string {
  let s = ''
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(random() * 16)]
  return s
}

const WORDS = ['request', 'completed', 'incoming', 'wallet', 'created', 'stream', 'resumed', 'retrying', 'after', 'backoff', 'rate', 'limited', 'event', 'delivered', 'tenant', 'cursor', 'page', 'ok', 'slow', 'upstream']
const PATHS = ['/api/wallet/list', '/api/wallet/create', '/api/events/stream', '/api/keys/validate', '/health']

/** One log line of a kind a harness run produces. */
function line (random: () => number, i: number): string {
  const t = 1_750_000_000_000 + i * 7
  const words = Array.from({ length: 3 + Math.floor(random() * 6) }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ')
  const path = PATHS[Math.floor(random() * PATHS.length)]!
  switch (Math.floor(random() * 6)) {
    case 0: return `{"level":30,"time":${t},"pid":4242,"hostname":"runner-${i % 5}","reqId":"req_${token(random, 26)}","req":{"method":"GET","url":"${path}?limit=20&cursor=${Buffer.from(`{"o":${i},"t":"acme"}`).toString('base64url')}","remoteAddress":"127.0.0.1","remotePort":${40000 + i % 20000}},"msg":"incoming request"}`
    case 1: return `{"level":30,"time":${t},"reqId":"req_${token(random, 26)}","res":{"statusCode":${random() < 0.9 ? 200 : 429}},"responseTime":${(random() * 20).toFixed(3)},"traceId":"${hex(random, 32)}","spanId":"${hex(random, 16)}","msg":"request completed"}`
    case 2: return `127.0.0.1 - - [21/Jun/2025:10:${String(i % 60).padStart(2, '0')}:00 +0000] "GET ${path}?name=my%20wallet%20${i}&chain=ethereum&q=${encodeURIComponent(words)} HTTP/1.1" ${random() < 0.95 ? 200 : 503} ${Math.floor(random() * 4000)} "-" "tenzro-client/1.0 (node ${i % 3 + 22})"`
    case 3: return `id: ${i}\nevent: wallet.created\ndata: {"id":"evt_${i}","type":"wallet.created","tenantId":"acme","timestamp":"2025-06-21T10:00:00.000Z","data":{"id":"wal_${token(random, 16)}","address":"0x${hex(random, 40)}","msg":"${words} \\"quoted\\""}}\n`
    case 4: return `2025-06-21T10:00:00.${String(i % 1000).padStart(3, '0')}Z WARN client: ${words}; retry in ${Math.floor(random() * 2000)} ms (attempt ${i % 5 + 1}), key id key_${token(random, 16)}, prefix tnz_acme_${token(random, 3)}`
    default: return `{"level":20,"time":${t},"span":{"name":"GET ${path}","attributes":{"http.request.method":"GET","url.full":"http://127.0.0.1:4010${path}","http.response.status_code":200}},"msg":"${words}"}`
  }
}

const PLANT: LeakForm[] = ['raw', 'url', 'url-partial', 'json-unicode', 'base64', 'base64url', 'base64-mime', 'hex', 'partial-raw', 'partial-base64', 'url-base64', 'url-double']

/** A realistic log of about `bytes` bytes with PLANT leaks of `key` spread through it. */
export function generateLog (bytes: number, key: string, seed: number): { data: Buffer, planted: number } {
  const random = createRandom(seed)
  // A pool of distinct lines, drawn at random: generating 64 MiB line by line would dominate the run.
  const pool = Array.from({ length: 20_000 }, (_, i) => Buffer.from(line(random, i) + '\n'))
  const data = Buffer.allocUnsafe(bytes)
  let at = 0
  const every = Math.floor(bytes / (PLANT.length + 1))
  let planted = 0
  let next = every
  while (at < bytes) {
    let chunk = pool[Math.floor(random() * pool.length)]!
    if (at >= next && planted < PLANT.length) {
      chunk = Buffer.from(`{"level":40,"msg":"debug headers","leak":"${encodeLeak(key, PLANT[planted]!, random)}"}\n`)
      planted++
      next += every
    }
    at += chunk.copy(data, at)
  }
  return { data, planted }
}

function median (values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

function time (fn: () => void): number {
  const t0 = performance.now()
  fn()
  return (performance.now() - t0) / 1000
}

export async function benchScan (opts: BenchScanOptions = {}): Promise<BenchScanResult> {
  const sizeMb = opts.sizeMb ?? 64
  const rounds = opts.rounds ?? 3
  const random = createRandom(opts.seed ?? 6)
  const key = `tnz_acme_FAKE${token(random, 39)}`
  const { data, planted } = generateLog(sizeMb * MIB, key, (opts.seed ?? 6) + 1)
  const scanner = createLeakScanner({ canaries: [key] })
  const needle = Buffer.from(key)

  let found = 0
  const scanOnce = () => { found = new Set(scanner.scan(data, 'bench').filter(f => f.kind === 'canary').map(f => f.line)).size }
  const baselineOnce = () => {
    let n = 0
    for (let p = data.indexOf(needle); p !== -1; p = data.indexOf(needle, p + 1)) n++
    if (n < 0) throw new Error('unreachable')
  }
  const streamOnce = () => {
    const s = scanner.createStreamScanner('bench')
    for (let p = 0; p < data.length; p += MIB) s.write(data.subarray(p, p + MIB))
    s.end()
  }
  scanOnce()
  baselineOnce()
  streamOnce()
  const scanS: number[] = []
  const baseS: number[] = []
  const streamS: number[] = []
  for (let r = 0; r < rounds; r++) {
    // Interleaved, so both contenders see the same machine load.
    scanS.push(time(scanOnce))
    baseS.push(time(baselineOnce))
    streamS.push(time(streamOnce))
  }
  const mb = data.length / MIB
  const mbPerSec = mb / median(scanS)
  const baselineMbPerSec = mb / median(baseS)
  return {
    name: `leak scan of ${sizeMb} MiB of log text, 1 canary, vs Buffer.indexOf of the raw key`,
    mbPerSec,
    baselineMbPerSec,
    ratio: mbPerSec / baselineMbPerSec,
    streamMbPerSec: mb / median(streamS),
    sizeMb,
    planted,
    found,
    goal: '>= 100 MiB/s, every planted leak found'
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sizeMb = process.argv[2] !== undefined ? Number(process.argv[2]) : undefined
  const r = await benchScan(sizeMb !== undefined ? { sizeMb } : {})
  const f = (n: number) => n.toFixed(1)
  process.stdout.write(`${r.name}\n  scan:     ${f(r.mbPerSec)} MiB/s\n  stream:   ${f(r.streamMbPerSec)} MiB/s\n  baseline: ${f(r.baselineMbPerSec)} MiB/s (Buffer.indexOf)\n  ratio:    ${r.ratio.toFixed(3)}\n  leaks:    ${r.found}/${r.planted} found\n`)
  if (r.found !== r.planted) process.exitCode = 1
}
