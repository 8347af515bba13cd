// The request schemas of the API, as JSON Schema (2020-12, the dialect of OpenAPI 3.1). They are the one
// source of truth: validate.ts checks bodies and queries against them (with the messages in
// `x-message`), and openapi.ts publishes them at GET /openapi.json. Response schemas are envelope.ts's,
// which Fastify serialises with; the event stream's frames are described by EVENT and STREAM_GAP.
import { CHAINS, WALLET_TYPES } from './domain/wallet-store.ts'
import { FAULT_TYPES } from './domain/fault-plan.ts'
import { isValidScope, SLUG_RE } from './domain/key-store.ts'

/** The subset of JSON Schema validate.ts interprets; anything else in a schema is documentation only. */
export interface FieldSchema {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | readonly ('string' | 'integer' | 'null')[]
  enum?: readonly (string | number)[]
  minLength?: number
  maxLength?: number
  pattern?: string
  format?: 'date-time'
  minimum?: number
  maximum?: number
  minItems?: number
  maxItems?: number
  items?: FieldSchema
  default?: unknown
  description?: string
  /** The detail's message when the field fails (contract 1.5): one message per field, saying what to send. */
  'x-message'?: string
  [k: string]: unknown
}

export interface ObjectSchema {
  type: 'object'
  properties: Record<string, FieldSchema>
  required?: readonly string[]
  /** false: an unknown field is a detail ('unknown field'); true: ignored (query strings). */
  additionalProperties: boolean
  description?: string
}

/** Printable: no control characters (C0, DEL, C1), no lone surrogates. Matched with the `u` flag. */
export const PRINTABLE = '^[^\\p{Cc}\\p{Cs}]+$'

/** Every scope a key may hold (contract 2.4), as key-store.ts accepts them. */
export const SCOPE_VALUES = ['wallet', 'events', 'admin'].flatMap((s) => ['read', 'write', '*'].map((a) => `${s}:${a}`)).filter(isValidScope)

const NAME: FieldSchema = { type: 'string', minLength: 1, maxLength: 64, pattern: PRINTABLE, 'x-message': 'must be 1-64 printable characters' }

/** Fields of a new key, shared by POST /api/keys and POST /__harness/keys (contract 2.3, 2.6, 7.4). */
export const KEY_FIELDS = {
  name: { ...NAME, description: 'A label for the key; default "key".' },
  scopes: {
    type: 'array',
    minItems: 1,
    maxItems: 8,
    items: { type: 'string', enum: SCOPE_VALUES },
    description: 'Default: every non-admin scope.',
    'x-message': 'must be a non-empty array of wallet:read, wallet:write, events:read, <service>:* or admin:*'
  },
  rateLimit: { type: ['integer', 'null'], minimum: 1, maximum: 1e9, description: 'Requests per window for this key; null or absent: the route\'s or the default limit.', 'x-message': 'must be an integer >= 1 (requests per window)' },
  expiresAt: { type: ['string', 'null'], format: 'date-time', pattern: '^\\d{4}-\\d{2}-\\d{2}T', description: 'ISO-8601 date-time in the future; the key is refused with expired_api_key after it.', 'x-message': 'must be an ISO-8601 date-time' }
} as const satisfies Record<string, FieldSchema>
export const KEY_FIELD_NAMES: readonly string[] = Object.keys(KEY_FIELDS)

export const WALLET_CREATE: ObjectSchema = {
  type: 'object',
  properties: {
    name: NAME,
    type: { type: 'string', enum: WALLET_TYPES, 'x-message': `must be one of ${WALLET_TYPES.join(', ')}` },
    chain: { type: 'string', enum: CHAINS, 'x-message': `must be one of ${CHAINS.join(', ')}` }
  },
  required: ['name', 'type', 'chain'],
  additionalProperties: false
}

/** Query of GET /api/wallet/list (contract 3.2). Query values arrive as strings; integers are decimal digits. */
export const WALLET_LIST_QUERY: ObjectSchema = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 20, 'x-message': 'must be an integer 1-100' },
    cursor: { type: 'string', minLength: 1, description: 'meta.cursor of the previous page, as returned; tamper-evident and bound to the tenant.', 'x-message': 'must be a cursor returned by this API' },
    chain: { type: 'string', enum: CHAINS, 'x-message': `must be one of ${CHAINS.join(', ')}` }
  },
  additionalProperties: true
}

export const KEY_CREATE: ObjectSchema = {
  type: 'object',
  properties: { tenantId: { type: 'string', description: 'The tenant id or slug; must be the admin key\'s own tenant.', 'x-message': 'required: the tenant id or slug' }, ...KEY_FIELDS },
  required: ['tenantId'],
  additionalProperties: false
}

export const HARNESS_TENANT_CREATE: ObjectSchema = {
  type: 'object',
  properties: {
    slug: { type: 'string', pattern: SLUG_RE.source, description: 'Default: `t` + 8 hex chars. Must not exist yet.', 'x-message': 'must be 1-32 chars of [a-z0-9] (contract 2.1)' },
    quota: { type: 'integer', minimum: 1, description: 'Requests per window for the whole tenant, on top of each key\'s limit.', 'x-message': 'must be an integer >= 1 (requests per window for the whole tenant)' },
    name: KEY_FIELDS.name,
    scopes: KEY_FIELDS.scopes,
    rateLimit: KEY_FIELDS.rateLimit,
    network: { type: 'string', enum: ['devnet', 'testnet', 'mainnet'], description: 'Binds the key to one X-Network; absent: every network (docs/api.md 2.8).', 'x-message': 'must be one of devnet, testnet, mainnet (the key then works on that X-Network only)' },
  },
  additionalProperties: false
}

export const HARNESS_KEY_CREATE: ObjectSchema = {
  type: 'object',
  properties: {
    tenant: { type: 'string', description: 'The tenant id or slug.', 'x-message': 'required: the tenant id or slug' },
    ...KEY_FIELDS,
    network: { type: 'string', enum: ['devnet', 'testnet', 'mainnet'], description: 'Binds the key to one X-Network; absent: every network (docs/api.md 2.8).', 'x-message': 'must be one of devnet, testnet, mainnet (the key then works on that X-Network only)' },
  },
  required: ['tenant'],
  additionalProperties: false
}

/** Query of GET /__harness/record (contract 7.4). */
export const RECORD_QUERY: ObjectSchema = {
  type: 'object',
  properties: { after: { type: 'integer', minimum: 0, maximum: 999_999_999_999_999, description: 'Only entries with a greater seq.', 'x-message': 'must be a non-negative integer' } },
  additionalProperties: true
}

/** An event id on the stream (contract 4.2): the tenant stream's sequence number. */
export const EVENT_ID: FieldSchema = { type: 'string', pattern: '^\\d{1,15}$', 'x-message': 'must be a non-negative integer event id' }

/** Query of GET /api/events/stream (contract 4.2). */
export const EVENT_STREAM_QUERY: ObjectSchema = {
  type: 'object',
  properties: {
    subjects: { type: 'string', description: 'Comma-separated NATS subject patterns (`*` one token, `>` the rest); absent: every subject.' },
    last_event_id: { ...EVENT_ID, description: 'Resume after this id; the Last-Event-ID header wins over it.' }
  },
  additionalProperties: true
}

/** POST /__harness/events (contract 7.4). `type` is checked by subjects.ts isValidSubject. */
export const HARNESS_EVENT: ObjectSchema = {
  type: 'object',
  properties: {
    tenant: { type: 'string', minLength: 1, description: 'The tenant id or slug.', 'x-message': 'required: the tenant id or slug' },
    type: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$', description: 'The subject, e.g. wallet.created.', 'x-message': 'required: a subject such as wallet.created (tokens of [A-Za-z0-9_-] separated by dots, no wildcards)' },
    data: { description: 'The event\'s data, any JSON value; default {}.' }
  },
  required: ['tenant', 'type'],
  additionalProperties: false
}

/** The JSON in the `data:` line of each event frame (contract 4.3). */
export const EVENT = {
  type: 'object',
  properties: {
    id: { type: 'string', pattern: '^evt_\\d+$' },
    type: { type: 'string', description: 'The subject, e.g. wallet.created; also the frame\'s `event:` field.' },
    tenantId: { type: 'string' },
    timestamp: { type: 'string', format: 'date-time' },
    data: { description: 'The event\'s data: an object for every subject the mock publishes itself (4.5); what POST /__harness/events was given otherwise.' }
  },
  required: ['id', 'type', 'tenantId', 'timestamp', 'data'],
  additionalProperties: false
} as const

/** `event: stream.gap` (contract 4.4): events from..to are lost. */
export const STREAM_GAP = {
  type: 'object',
  properties: { from: { type: 'integer', minimum: 1 }, to: { type: 'integer', minimum: 1 } },
  required: ['from', 'to'],
  additionalProperties: false
} as const

/**
 * The fault plan of PUT /__harness/faults (contract 7.2). fault-plan.ts validateFaultPlan checks each
 * fault's own fields; this schema gives the shape every fault shares.
 */
export const FAULT_PLAN = {
  type: 'object',
  properties: {
    seed: { type: 'integer', minimum: 0, maximum: 4294967295, description: 'Seed of the faults\' generators; default: the mock\'s.' },
    faults: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string', minLength: 1, maxLength: 64 },
          type: { type: 'string', enum: FAULT_TYPES },
          scope: {
            type: 'object',
            properties: { tenant: { type: 'string' }, key: { type: 'string' }, route: { type: 'string', description: '"METHOD /path" or "/path"' } },
            additionalProperties: false
          },
          probability: { type: 'number', minimum: 0, maximum: 1 },
          after: { type: 'integer', minimum: 0, maximum: 1e9 },
          times: { type: 'integer', minimum: 1, maximum: 1e9 }
        },
        required: ['type'],
        description: 'Plus the fields of its type (README, "The fault plan").'
      }
    }
  },
  required: ['faults']
} as const
