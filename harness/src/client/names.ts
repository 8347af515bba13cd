// Span names and attribute keys of the reference client, in one place (house style, "Module shapes").
// Where OpenTelemetry's semantic conventions name an attribute, the value here is that name; a test
// compares them with @opentelemetry/semantic-conventions so a typo cannot slip in.

export const TRACER_NAME = 'tenzro-client'
export const TRACER_VERSION = '0.1.0'

/** HTTP client spans (semconv http, stable): one CLIENT span per attempt, named `{method} {url.template}`. */
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method'
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code'
export const ATTR_HTTP_REQUEST_RESEND_COUNT = 'http.request.resend_count'
export const ATTR_URL_FULL = 'url.full'
export const ATTR_URL_TEMPLATE = 'url.template'
export const ATTR_SERVER_ADDRESS = 'server.address'
export const ATTR_SERVER_PORT = 'server.port'
export const ATTR_ERROR_TYPE = 'error.type'

/** Messaging (semconv messaging, development): one CONSUMER span per processed event. */
export const ATTR_MESSAGING_SYSTEM = 'messaging.system'
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id'
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name'
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type'
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name'
/**
 * Decided: the client sees Tenzro's SSE stream, not NATS itself (the JetStream behind it is the
 * server's business, contract 4.1), so the system is `tenzro`, a custom value semconv allows.
 */
export const MESSAGING_SYSTEM = 'tenzro'
export const MESSAGING_OPERATION_PROCESS = 'process'

/** Attributes of our own, namespaced. */
export const ATTR_TENZRO_OPERATION = 'tenzro.operation'
export const ATTR_TENZRO_REQUEST_ID = 'tenzro.request_id'
export const ATTR_TENZRO_ERROR_CODE = 'tenzro.error.code'
export const ATTR_TENZRO_ATTEMPTS = 'tenzro.attempts'
export const ATTR_TENZRO_RETRY_DELAY_MS = 'tenzro.retry.delay_ms'
export const ATTR_TENZRO_IDEMPOTENT_REPLAYED = 'tenzro.idempotent_replayed'
export const ATTR_TENZRO_STREAM_RECONNECTS = 'tenzro.stream.reconnects'

/** Parent INTERNAL spans, one per logical operation, so the attempts are siblings under it. */
export const SPAN_WALLETS_LIST = 'tenzro wallets.list'
export const SPAN_WALLETS_CREATE = 'tenzro wallets.create'

/** Route templates (url.template), which also name the CLIENT spans. */
export const ROUTE_WALLET_LIST = '/api/wallet/list'
export const ROUTE_WALLET_CREATE = '/api/wallet/create'
export const ROUTE_EVENT_STREAM = '/api/events/stream'

/** Span events recorded on the parent span. */
export const EVENT_RETRY = 'tenzro.retry'
export const EVENT_THROTTLED = 'tenzro.throttled'
export const EVENT_STREAM_GAP = 'tenzro.stream.gap'
