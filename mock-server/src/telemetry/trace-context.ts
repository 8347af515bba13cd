// The caller's W3C trace context, read from its request headers: the parent of the mock's SERVER span.
import { ROOT_CONTEXT, createTraceState, trace, type Context, type SpanContext } from '@opentelemetry/api'
import { looksSecret } from '../pipeline/secrets.ts'

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^]*)?$/
const ZERO_TRACE = '00000000000000000000000000000000'
const ZERO_SPAN = '0000000000000000'

/**
 * The caller's span context from `traceparent`/`tracestate` (W3C Trace Context 1, sections 3.2-3.3),
 * or undefined when absent or invalid, which starts a new trace.
 */
export function parseTraceContext (traceparent: string | string[] | undefined, tracestate: string | string[] | undefined): SpanContext | undefined {
  // Two traceparent headers are invalid (3.2); Node joins them, so the pattern refuses them too.
  if (typeof traceparent !== 'string' || traceparent.length < 55) return undefined
  const m = TRACEPARENT.exec(traceparent.trim())
  if (m === null) return undefined
  const version = m[1]!
  // Version ff is invalid; version 00 has exactly four fields; later versions may add fields (3.2.4).
  if (version === 'ff' || (version === '00' && m[5] !== undefined)) return undefined
  const traceId = m[2]!
  const spanId = m[3]!
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined
  const sc: SpanContext = { traceId, spanId, traceFlags: parseInt(m[4]!, 16) & 1, isRemote: true }
  if (tracestate !== undefined) {
    const raw = typeof tracestate === 'string' ? tracestate : tracestate.join(',')
    // tracestate is exported with every span of the trace: a client that put a key in it loses it.
    if (raw.length > 0 && raw.length <= 512 && !looksSecret(raw)) sc.traceState = createTraceState(raw)
  }
  return sc
}

/** The caller's context as the parent of the SERVER span; ROOT_CONTEXT when there is none. */
export function extractContext (traceparent: string | string[] | undefined, tracestate: string | string[] | undefined): Context {
  const sc = parseTraceContext(traceparent, tracestate)
  return sc === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, sc)
}
