// The mock's OpenTelemetry SDK: the one file that builds it (house style, "Telemetry"). NodeSDK reads
// the standard OTEL_* variables itself (OpenTelemetry specification, "Environment Variable
// Specification"): OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL
// (http/protobuf, the default, or http/json; grpc too), OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES,
// OTEL_TRACES_SAMPLER[_ARG], OTEL_BSP_* and OTEL_PROPAGATORS. Spans go through a BatchSpanProcessor to
// the OTLP exporter; no instrumentation is registered (plugins/telemetry.ts makes the spans).
//
// Tracing is off unless configured, and then this module loads nothing: the SDK packages are imported
// only by startTracing(), which server.ts calls only when tracingConfigured() says so.
import type { Tracer } from '@opentelemetry/api'
import { DEFAULT_SERVICE_NAME, TRACER_NAME, TRACER_VERSION } from './names.ts'

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
  return {
    tracer,
    protocol: tracesProtocol(env),
    async forceFlush () {
      await (provider as Flushable).forceFlush?.()
    },
    async shutdown () {
      await sdk.shutdown()
    }
  }
}
