// The fixed-size record of one SERVER span, as the request path writes it into a batch buffer and the
// export worker reads it (telemetry/span-sink.ts, telemetry/otlp-encode.ts). A span costs the request
// path a few stores into a preallocated ArrayBuffer: no span object, no attribute map, no allocation
// that outlives the request. Strings are references: an id in the table both sides share (route,
// method, tenant, key id, user agent: values that repeat), or an index into the batch's own values
// (paths with ids, queries: values that rarely do).

/** Bytes per span slot: ids, three float64 and twenty int32 fields. */
export const SLOT_BYTES = 136

// Byte offsets of the ids.
export const TRACE_ID = 0
export const SPAN_ID = 16
export const PARENT_SPAN_ID = 24

// Float64 indices within a slot (slot start / 8 + index).
/** process.hrtime in ns (as a double: exact to the ns for 104 days of uptime). */
export const F_START = 4
export const F_END = 5
/** tenzro.ratelimit.remaining (a limit may exceed int32). */
export const F_RL_REMAINING = 6

// Int32 indices within a slot (slot start / 4 + index).
export const I_FLAGS = 14
export const I_STATUS = 15
export const I_NAME = 16
export const I_METHOD = 17
export const I_METHOD_ORIGINAL = 18
export const I_PATH = 19
export const I_QUERY = 20
export const I_SCHEME = 21
export const I_ROUTE = 22
export const I_ADDRESS = 23
/** server.port; 0 when absent. */
export const I_PORT = 24
export const I_CLIENT = 25
export const I_USER_AGENT = 26
export const I_TENANT = 27
export const I_KEY_ID = 28
/** tenzro.ratelimit.allowed: -1 absent, 0 false, 1 true. */
export const I_RL_ALLOWED = 29
/** tenzro.fault: a reference to a string array. */
export const I_FAULTS = 30
export const I_ERROR_CODE = 31
export const I_TRACE_STATE = 32
export const I_SPARE = 33

// I_FLAGS bits.
export const FLAG_HAS_PARENT = 1
export const FLAG_PARENT_REMOTE = 2
/** W3C trace-flags sampled bit, as the span context carries it. */
export const FLAG_SAMPLED = 4

/** A string reference for "absent"; >= 0 is a shared-table id, <= -2 is batch value -(ref + 2). */
export const NONE = -1

/** A shared string value or a string array (tenzro.fault). */
export type RefValue = string | readonly string[]

/** One batch, as posted to the export worker (its buffer transferred, not copied). */
export interface SpanBatch {
  buf: ArrayBuffer
  /** Slots written. */
  n: number
  /** Shared-table entries first used in this batch: [id, value]. */
  defs: Array<[number, RefValue]>
  /** The batch's own values (references <= -2). */
  values: RefValue[]
}

/** Resource, scope and limits the worker encodes every export with (the SDK's own, so both paths agree). */
export interface EncoderInit {
  resource: { attributes: Record<string, unknown>, schemaUrl?: string | undefined }
  scope: { name: string, version?: string | undefined, schemaUrl?: string | undefined }
  /** OTEL_[SPAN_]ATTRIBUTE_VALUE_LENGTH_LIMIT and _COUNT_LIMIT as the SDK resolved them. */
  attributeValueLengthLimit: number
  attributeCountLimit: number
  /** Unix epoch ns minus process.hrtime ns, as a decimal string (a bigint cannot be cloned as JSON). */
  hrOffsetNs: string
}
