// What tracing costs the mock, as ratios measured side by side in one run.
//
//   on:  the mock with tracing on (every request sampled, OTLP/HTTP protobuf to a receiver in a process
//        of its own) vs bare Fastify serving the same JSON. Goal >= 0.55. SERVER spans take the span
//        sink (telemetry/span-sink.ts: fixed-size slots, encoded and exported by a worker thread); the
//        SDK's own BatchSpanProcessor path measured 0.34-0.51, a generic NodeSDK + instrumentation-http
//        setup 0.35-0.48 and @fastify/otel 0.27-0.34.
//   off: the mock with tracing off by the standard switch (OTEL_SDK_DISABLED=true beside an endpoint)
//        vs the same build with no OTEL_* at all, where the SDK is never loaded. Goal >= 0.97.
//
// `spansPerRequest` shows that the "on" figure is not bought by dropping spans: the receiver's count
// against the wallet-list requests the mock counted (tenzro_mock_http_requests_total), 1.0 when every
// request's span arrived. `mockSpans` is the mock's own count from /metrics
// (tenzro_mock_trace_spans_total): spans dropped because the export queue was full, and spans whose
// export failed, must both be 0.
//
// Run with `npm run bench -- tracing`; `node bench/tracing.ts --otlp-receiver` is the receiver child.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { compare, startServer } from './lib.ts'
import { createOtlpReceiver } from '../harness/src/otlp/index.ts'

const HIGH = { rateLimit: { limit: 1_000_000_000 } }
const RECEIVER_FLAG = '--otlp-receiver'

interface ReceiverChild {
  url: string
  /** Spans decoded so far, and the receiver's CPU time (it shares the machine with the load generator). */
  spans (): Promise<{ spans: number, cpuUs: number }>
  stop (): Promise<void>
}

/** The receiver in its own process, so decoding exports does not take CPU from the load generator. */
async function startReceiverProcess (): Promise<ReceiverChild> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [RECEIVER_FLAG], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url))
    child.once('exit', (code) => reject(new Error(`OTLP receiver child exited with ${code} before listening`)))
  })
  return {
    url,
    spans: () => new Promise((resolve) => {
      child.once('message', (m) => resolve(m as { spans: number, cpuUs: number }))
      child.send('spans')
    }),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) { resolve(); return }
      child.once('exit', () => resolve())
      child.send('exit')
    })
  }
}

if (process.argv[2] === RECEIVER_FLAG) {
  // Keeps no span (maxSpans 0): it decodes and counts every export, which is all a bench needs.
  const receiver = await createOtlpReceiver({ maxSpans: 0 })
  process.send?.({ url: receiver.url })
  process.on('message', (m) => {
    if (m === 'spans') {
      const s = receiver.stats()
      const cpu = process.cpuUsage()
      process.send?.({ spans: s.spansAccepted + s.spansDropped, cpuUs: cpu.user + cpu.system })
    }
    if (m === 'exit') void receiver.close().then(() => process.exit(0))
  })
  // The bench died without saying goodbye: do not outlive it.
  process.on('disconnect', () => { void receiver.close().then(() => process.exit(0)) })
}

/** GET /api/wallet/list requests the mock has answered, from its own counter (the /metrics scrape is not one). */
async function wallets (url: string): Promise<number> {
  const text = await (await fetch(url + '/metrics')).text()
  let n = 0
  for (const m of text.matchAll(/^tenzro_mock_http_requests_total\{route="\/api\/wallet\/list",[^}]*\} (\d+)/gm)) n += Number(m[1])
  return n
}

export async function benchTracing ({ rounds = 3, durationS = 5 }: { rounds?: number, durationS?: number } = {}) {
  const receiver = await startReceiverProcess()
  // Empty values override whatever OTEL_* the bench itself runs with.
  const none = { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '', OTEL_TRACES_EXPORTER: '', OTEL_SDK_DISABLED: '' }
  const tracingEnv = {
    ...none,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_TRACES_SAMPLER: 'always_on',
    OTEL_SERVICE_NAME: 'tenzro-mock-bench',
    // Batches of the default 512; a queue deep enough that a batch in flight never makes it drop spans
    // (the default 2048 dropped some under this load on the SDK's path).
    OTEL_BSP_MAX_QUEUE_SIZE: '8192',
    OTEL_BSP_SCHEDULE_DELAY: '200'
  }
  try {
    const results: Record<string, unknown> = {}
    {
      const on = await startServer({ kind: 'mock', config: HIGH, env: tracingEnv })
      const bare = await startServer({ kind: 'bare', env: none })
      try {
        const before = await receiver.spans()
        const requestsBefore = await wallets(on.url)
        const r = await compare('mock with tracing on (all sampled, OTLP protobuf) vs bare Fastify, GET /api/wallet/list', on, bare, { rounds, durationS })
        // Let the last batches arrive.
        await new Promise((resolve) => setTimeout(resolve, 1000))
        const after = await receiver.spans()
        const requests = await wallets(on.url) - requestsBefore
        const metrics = await (await fetch(on.url + '/metrics')).text()
        const mockSpans = Object.fromEntries([...metrics.matchAll(/^tenzro_mock_trace_spans_total\{outcome="(\w+)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]))
        const spans = after.spans - before.spans
        results.on = {
          ...r,
          goal: '>= 0.55',
          spansExported: spans,
          requests,
          spansPerRequest: spans / requests,
          mockSpans,
          receiverCpuUsPerSpan: spans === 0 ? null : (after.cpuUs - before.cpuUs) / spans
        }
      } finally { await on.stop(); await bare.stop() }
    }
    {
      const off = await startServer({ kind: 'mock', config: HIGH, env: { ...none, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: 'true' } })
      const plain = await startServer({ kind: 'mock', config: HIGH, env: none })
      try {
        results.off = { ...await compare('mock with tracing off vs the same build without the SDK loaded', off, plain, { rounds, durationS }), goal: '>= 0.97' }
      } finally { await off.stop(); await plain.stop() }
    }
    return results
  } finally {
    await receiver.stop()
  }
}
