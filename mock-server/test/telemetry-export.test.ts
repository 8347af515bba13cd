// The `tenzro-mock` command exports traces as the standard OTEL_* variables say (issue 7 item 1):
// OTLP/HTTP in the encoding OTEL_EXPORTER_OTLP_PROTOCOL names, to the endpoint, under OTEL_SERVICE_NAME,
// and nothing at all when they are unset. Each case runs the real command in a process of its own,
// so NodeSDK's process-wide registration starts fresh, and the embedded receiver decodes what the
// real exporters sent.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOtlpReceiver, type OtlpReceiver } from '../../harness/src/otlp/index.ts'

const BIN = fileURLToPath(new URL('../../bin/tenzro-mock.js', import.meta.url))
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
const SPAN_ID = 'b7ad6b7169203331'

let receiver: OtlpReceiver
beforeAll(async () => { receiver = await createOtlpReceiver() })
afterAll(async () => { await receiver?.close() })

/** Starts the command with `env` on top of a copy of ours stripped of OTEL_*; resolves with its URL. */
async function startCli (env: Record<string, string>): Promise<{ url: string, child: ChildProcess, stop (): Promise<number | null> }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')))
  const child = spawn(process.execPath, [BIN, '--port', '0', '--log-level', 'silent'], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m !== null) resolve(m[1]!)
    })
    child.once('exit', (code) => reject(new Error(`tenzro-mock exited with ${code} before listening: ${stderr}`)))
  })
  return {
    url,
    child,
    stop: () => new Promise((resolve) => {
      child.once('exit', (code) => resolve(code))
      child.kill('SIGTERM')
    })
  }
}

describe('tenzro-mock exports over OTLP/HTTP', () => {
  for (const protocol of ['http/json', 'http/protobuf'] as const) {
    it(`sends its spans as ${protocol} when OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}`, async () => {
      const service = `tenzro-mock-${protocol.replace('/', '-')}`
      const encoding = protocol === 'http/json' ? 'json' : 'protobuf'
      const before = receiver.stats().encodings[encoding]
      const cli = await startCli({
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_SERVICE_NAME: service,
        OTEL_BSP_SCHEDULE_DELAY: '20'
      })
      let code: number | null
      try {
        const res = await fetch(cli.url + '/health', { headers: { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` } })
        expect(res.status).toBe(200)
        const { met, spans } = await receiver.waitForSpans((all) => all.some((s) => s.resource['service.name'] === service), { timeoutMs: 10_000 })
        expect(met).toBe(true)
        const span = spans.find((s) => s.resource['service.name'] === service)!
        expect(span).toMatchObject({ name: 'GET /health', kind: 'server', traceId: TRACE_ID, parentSpanId: SPAN_ID })
        expect(span.attributes['http.response.status_code']).toBe(200)
        expect(span.scope.name).toBe('tenzro-mock')
        expect(receiver.stats().encodings[encoding]).toBeGreaterThan(before)
      } finally {
        code = await cli.stop()
      }
      expect(code).toBe(0)
    })
  }

  it('exports nothing when no OTEL_* variable asks for traces', async () => {
    const requests = receiver.stats().requests
    const cli = await startCli({ OTEL_SERVICE_NAME: 'tenzro-mock-untraced' })
    try {
      const res = await fetch(cli.url + '/health', { headers: { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` } })
      expect(res.status).toBe(200)
    } finally {
      expect(await cli.stop()).toBe(0)
    }
    // A process that exported would have flushed on SIGTERM, before exiting.
    expect(receiver.stats().requests).toBe(requests)
  })
})
