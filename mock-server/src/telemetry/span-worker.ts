// The export worker of the SERVER span sink (span-sink.ts): encodes each batch it is handed
// (otlp-encode.ts) and sends it with the stock OTLP/HTTP exporter transport of
// @opentelemetry/otlp-exporter-base, configured as OTLPTraceExporter configures itself: from the
// OTEL_EXPORTER_OTLP_[TRACES_]* variables (endpoint, headers, timeout, compression, certificates),
// with retries and its bounded queue of exports in flight. Only the serialiser differs: ours, on
// this thread, so encoding and the HTTP client cost the request path nothing.
import { parentPort, workerData } from 'node:worker_threads'
import { ExportResultCode } from '@opentelemetry/core'
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base'
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate, type OTLPExporterNodeConfigBase } from '@opentelemetry/otlp-exporter-base/node-http'
import { createServerSpanEncoder } from './otlp-encode.ts'
import type { EncoderInit, SpanBatch } from './span-layout.ts'

export interface WorkerInit extends EncoderInit {
  /** What OTLPTraceExporter's constructor would take; the environment fills in the rest. */
  exporter: OTLPExporterNodeConfigBase
}

/** Main thread to worker. */
export type ToWorker = ({ type: 'batch' } & SpanBatch) | { type: 'flush', id: number } | { type: 'shutdown', id: number }
/** Worker to main thread: a buffer to reuse, an export's outcome, or the end of a flush; all carry the running counts. */
export type FromWorker = ({ type: 'buffer', buf: ArrayBuffer } | { type: 'stats' } | { type: 'done', id: number }) & { exported: number, failed: number }

interface Payload { bytes: Uint8Array, count: number }

const port = parentPort
if (port === null) throw new Error('span-worker.ts runs as a worker thread')
const init = workerData as WorkerInit
const encoder = createServerSpanEncoder(init)
const exporter = new OTLPExporterBase<Payload>(createOtlpHttpExportDelegate(
  convertLegacyHttpOptions(init.exporter, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
  // The payload is encoded already; the answer is only logged by the delegate (partial success).
  { serializeRequest: (p: Payload) => p.bytes, deserializeResponse: () => ({}) },
  'otlp_http_span_exporter',
  { name: 'span', countItems: (p: Payload) => p.count },
  undefined
))

let exported = 0
let failed = 0

port.on('message', (m: ToWorker) => {
  if (m.type === 'batch') {
    let bytes: Uint8Array | undefined
    try {
      bytes = encoder.encode(m)
    } catch {
      failed += m.n
    }
    // The slots are read: the buffer goes back to the request path at once.
    port.postMessage({ type: 'buffer', buf: m.buf, exported, failed } satisfies FromWorker, [m.buf])
    if (bytes === undefined) return
    const n = m.n
    exporter.export({ bytes, count: n }, (r) => {
      if (r.code === ExportResultCode.SUCCESS) exported += n
      else failed += n
      port.postMessage({ type: 'stats', exported, failed } satisfies FromWorker)
    })
    return
  }
  const done = m.type === 'flush' ? exporter.forceFlush() : exporter.shutdown()
  done.catch(() => {}).finally(() => { port.postMessage({ type: 'done', id: m.id, exported, failed } satisfies FromWorker) })
})
