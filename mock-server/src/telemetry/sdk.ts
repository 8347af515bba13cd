// The mock's OpenTelemetry SDK: the one file that builds it (house style, "Telemetry"). NodeSDK reads
// the standard OTEL_* variables itself (OpenTelemetry specification, "Environment Variable
// Specification"): OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL
// (http/protobuf, the default, or http/json; grpc too), OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES,
// OTEL_TRACES_SAMPLER[_ARG], OTEL_BSP_* and OTEL_PROPAGATORS. Spans go through a BatchSpanProcessor to
// the OTLP exporter; no instrumentation is registered (plugins/telemetry.ts makes the spans).
//
// When that pipeline is the default one (a single BatchSpanProcessor feeding the OTLP/HTTP protobuf
// exporter), the SERVER span of each request, nearly every span the mock makes, takes a shorter road
// with the same settings: the SDK's sampler, resource, scope and span limits, the processor's queue,
// batch size and delay, and the exporter's transport configured from the same variables, but its
// spans are fixed-size slots encoded and sent by a worker thread (span-sink.ts). Any other pipeline
// (http/json, grpc, console, several exporters) keeps every span on the SDK.
//
// Tracing is off unless configured, and then this module loads nothing: the SDK packages are imported
// only by startTracing(), which server.ts calls only when tracingConfigured() says so.
import type { Tracer } from '@opentelemetry/api'
import type { OTLPExporterNodeConfigBase } from '@opentelemetry/otlp-exporter-base/node-http'
import { DEFAULT_SERVICE_NAME, TRACER_NAME, TRACER_VERSION } from './names.ts'
import type { SpanSampler } from './server-spans-fast.ts'
import type { SpanSink } from './span-sink.ts'

type Env = Record<string, string | undefined>

function list (v: string | undefined): string[] {
  return (v ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0)
}

function isTrue (v: string | undefined): boolean {
  return v?.trim().toLowerCase() === 'true'
}

/**
 * Whether the environment asks for traces: an OTLP endpoint, or OTEL_TRACES_EXPORTER naming an
 * exporter (otlp, console); and neither OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none.
 */
export function tracingConfigured (env: Env): boolean {
  if (isTrue(env.OTEL_SDK_DISABLED)) return false
  const exporters = list(env.OTEL_TRACES_EXPORTER)
  if (exporters.includes('none')) return false
  if (exporters.length > 0) return true
  return (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? '').trim() !== '' || (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim() !== ''
}

/** The protocol the OTLP exporter will speak, as NodeSDK resolves it. */
export function tracesProtocol (env: Env): string {
  return (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim() || 'http/protobuf'
}

export interface MockTracing {
  /** The tracer for plugins/telemetry.ts (buildApp deps.tracer). */
  tracer: Tracer
  /** What OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL resolved to. */
  protocol: string
  /** SERVER spans through a span sink (buildApp deps.fast), when the pipeline is the default one. */
  fast: { sink: SpanSink, sampler: SpanSampler } | undefined
  /** Export every ended span now. */
  forceFlush (): Promise<void>
  /** Flush and stop; call after the app has closed. */
  shutdown (): Promise<void>
}

interface Flushable { forceFlush?: () => Promise<void> }

/**
 * Starts NodeSDK from process.env (NodeSDK reads nothing else) and registers it globally, so the
 * exporter also serves any library that asks @opentelemetry/api for a tracer. Metrics and logs stay
 * off: this is a traces-only setup. Call once per process, before buildApp().
 */
export async function startTracing (): Promise<MockTracing> {
  const env = process.env
  const [{ NodeSDK }, api] = await Promise.all([import('@opentelemetry/sdk-node'), import('@opentelemetry/api')])
  const named = (env.OTEL_SERVICE_NAME ?? '').trim() !== '' || /(?:^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '')
  const sdk = new NodeSDK({
    ...(named ? {} : { serviceName: DEFAULT_SERVICE_NAME }),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: []
  })
  sdk.start()
  // The registered provider behind the API's proxy: its tracers skip the proxy on every span, and it
  // has forceFlush, which NodeSDK does not expose.
  const global = api.trace.getTracerProvider()
  const provider = global instanceof api.ProxyTracerProvider ? global.getDelegate() : global
  const tracer = provider.getTracer(TRACER_NAME, TRACER_VERSION)
  const fast = await fastSpansFor(tracer)
  return {
    tracer,
    protocol: tracesProtocol(env),
    fast,
    async forceFlush () {
      await Promise.all([fast?.sink.forceFlush(), (provider as Flushable).forceFlush?.()])
    },
    async shutdown () {
      await fast?.sink.shutdown()
      await sdk.shutdown()
    }
  }
}

/** What the SDK's Tracer keeps (sdk-trace Tracer.ts: public fields, pinned by the exact version we depend on). */
interface SdkTracer {
  _sampler?: SpanSampler
  _resource?: { attributes: Record<string, unknown>, schemaUrl?: string, waitForAsyncAttributes?: () => Promise<void> }
  _spanLimits?: { attributeCountLimit?: number, attributeValueLengthLimit?: number }
  _spanProcessor?: { _spanProcessors?: unknown[] }
  instrumentationScope?: { name: string, version?: string, schemaUrl?: string }
}

interface SdkBatchProcessor {
  _exporter: unknown
  _maxQueueSize: number
  _maxExportBatchSize: number
  _scheduledDelayMillis: number
}

/**
 * A span sink with the settings of `tracer`'s pipeline when that is one BatchSpanProcessor feeding an
 * OTLP/HTTP protobuf exporter, else undefined (everything stays on the SDK). `exporter` is what that
 * exporter's constructor was given (NodeSDK gives nothing: the environment says it all).
 */
export async function fastSpansFor (tracer: Tracer, exporter: OTLPExporterNodeConfigBase = {}): Promise<{ sink: SpanSink, sampler: SpanSampler } | undefined> {
  const [{ BatchSpanProcessor }, { OTLPTraceExporter }, { SpanSink }] = await Promise.all([
    import('@opentelemetry/sdk-trace'), import('@opentelemetry/exporter-trace-otlp-proto'), import('./span-sink.ts')
  ])
  const t = tracer as unknown as SdkTracer
  const processors = t._spanProcessor?._spanProcessors
  if (!Array.isArray(processors) || processors.length !== 1 || !(processors[0] instanceof BatchSpanProcessor)) return undefined
  const bsp = processors[0] as unknown as SdkBatchProcessor
  const sampler = t._sampler
  const resource = t._resource
  const scope = t.instrumentationScope
  if (!(bsp._exporter instanceof OTLPTraceExporter) || sampler === undefined || resource === undefined || scope === undefined) return undefined
  await resource.waitForAsyncAttributes?.()
  // Unix epoch ns minus process.hrtime ns, as the SDK dates spans (performance.timeOrigin + now()).
  const origin = performance.timeOrigin
  const epochNs = BigInt(Math.floor(origin)) * 1_000_000n + BigInt(Math.round(((origin % 1) + performance.now()) * 1e6))
  const sink = new SpanSink({
    resource: { attributes: { ...resource.attributes }, schemaUrl: resource.schemaUrl },
    scope: { name: scope.name, version: scope.version, schemaUrl: scope.schemaUrl },
    attributeCountLimit: t._spanLimits?.attributeCountLimit ?? 128,
    attributeValueLengthLimit: t._spanLimits?.attributeValueLengthLimit ?? Infinity,
    hrOffsetNs: String(epochNs - process.hrtime.bigint()),
    exporter,
    maxQueueSize: bsp._maxQueueSize,
    maxExportBatchSize: Math.min(bsp._maxExportBatchSize, bsp._maxQueueSize),
    scheduledDelayMillis: bsp._scheduledDelayMillis
  })
  return { sink, sampler }
}
