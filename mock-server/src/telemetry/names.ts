// Span names and attribute keys of the mock's traces, in one place (house style, "Module shapes").
// Where OpenTelemetry's semantic conventions name an attribute, the value here is that name; a test
// compares them with @opentelemetry/semantic-conventions so a typo cannot slip in. Our own keys live
// under `tenzro.` and never hold a secret: key ids (`key_...`), never keys (contract 2.3, 7.3).

export const TRACER_NAME = 'tenzro-mock'
export const TRACER_VERSION = '0.1.0'
/** service.name when neither OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES names one. */
export const DEFAULT_SERVICE_NAME = 'tenzro-mock'

// HTTP server spans (semconv http, stable): one SERVER span per request, named `{method} {http.route}`.
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method'
export const ATTR_HTTP_REQUEST_METHOD_ORIGINAL = 'http.request.method_original'
export const ATTR_HTTP_ROUTE = 'http.route'
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code'
export const ATTR_URL_PATH = 'url.path'
export const ATTR_URL_QUERY = 'url.query'
export const ATTR_URL_SCHEME = 'url.scheme'
export const ATTR_SERVER_ADDRESS = 'server.address'
export const ATTR_SERVER_PORT = 'server.port'
export const ATTR_CLIENT_ADDRESS = 'client.address'
export const ATTR_USER_AGENT_ORIGINAL = 'user_agent.original'
export const ATTR_ERROR_TYPE = 'error.type'

// Messaging (semconv messaging, development): a PRODUCER span per published event.
export const ATTR_MESSAGING_SYSTEM = 'messaging.system'
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id'
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name'
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type'
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name'
/**
 * The same custom system the reference client uses (harness/src/client/names.ts): consumers see
 * Tenzro's stream, and the JetStream behind it is the server's business (contract 4.1).
 */
export const MESSAGING_SYSTEM = 'tenzro'
export const MESSAGING_OPERATION_SEND = 'send'
export const MESSAGING_OPERATION_PUBLISH = 'publish'

// Ours.
export const ATTR_TENZRO_TENANT_ID = 'tenzro.tenant.id'
/** The key's id (`key_` + 16 chars, contract 2.3); never the key, never its prefix. */
export const ATTR_TENZRO_KEY_ID = 'tenzro.key.id'
/** The contract error code (1.6) of a refused request, e.g. rate_limited. */
export const ATTR_TENZRO_ERROR_CODE = 'tenzro.error.code'
export const ATTR_TENZRO_RATELIMIT_ALLOWED = 'tenzro.ratelimit.allowed'
export const ATTR_TENZRO_RATELIMIT_REMAINING = 'tenzro.ratelimit.remaining'
/** Labels of the faults applied to the request or stream (contract 7.2), a string array. */
export const ATTR_TENZRO_FAULT = 'tenzro.fault'
/** On a fault event: `start` or `end` of a fault that lasts (sse-stall). */
export const ATTR_TENZRO_FAULT_PHASE = 'tenzro.fault.phase'
export const ATTR_TENZRO_STREAM_ID = 'tenzro.stream.id'
export const ATTR_TENZRO_STREAM_LAST_EVENT_ID = 'tenzro.stream.last_event_id'
export const ATTR_TENZRO_STREAM_SUBJECTS = 'tenzro.stream.subjects'
export const ATTR_TENZRO_STREAM_CLOSE_REASON = 'tenzro.stream.close_reason'
export const ATTR_TENZRO_STREAM_EVENTS = 'tenzro.stream.events'
export const ATTR_TENZRO_STREAM_HEARTBEATS = 'tenzro.stream.heartbeats'
/** On a frame event: the event was replayed from the log (contract 4.4), not sent live. */
export const ATTR_TENZRO_SSE_REPLAY = 'tenzro.sse.replay'
/** On a frame event: re-sent on purpose by fault sse-duplicate (contract 4.6, 7.2). */
export const ATTR_TENZRO_SSE_DUPLICATE = 'tenzro.sse.duplicate'
export const ATTR_TENZRO_SSE_DROP_REASON = 'tenzro.sse.drop.reason'
export const ATTR_TENZRO_SSE_DROP_WHERE = 'tenzro.sse.drop.where'
export const ATTR_TENZRO_SSE_GAP_FROM = 'tenzro.sse.gap.from'
export const ATTR_TENZRO_SSE_GAP_TO = 'tenzro.sse.gap.to'
export const ATTR_TENZRO_SSE_RESUME_FROM = 'tenzro.sse.resume.from'
export const ATTR_TENZRO_SSE_RESUME_VIA = 'tenzro.sse.resume.via'

/** The SSE stream, from its 200 to its close; child of the request's SERVER span (contract 4). */
export const SPAN_SSE_STREAM = 'tenzro.sse.stream'

// Span events on the stream span, one per record entry of the stream (contract 7.3).
export const EVENT_SSE_FRAME = 'tenzro.sse.frame'
export const EVENT_SSE_GAP = 'tenzro.sse.gap'
export const EVENT_SSE_DROP = 'tenzro.sse.drop'
export const EVENT_SSE_RESUME = 'tenzro.sse.resume'
export const EVENT_SSE_FAULT = 'tenzro.sse.fault'

/** Written where a value was removed because it could hold a secret. */
export const REDACTED = 'REDACTED'
