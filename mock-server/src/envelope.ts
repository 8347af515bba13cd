// The response schemas of the envelopes of contract 1.4 and 1.5 (the envelopes themselves are
// pipeline/envelopes.ts dataEnvelope and errorEnvelope, shared with the msw handlers). Schemas list every
// field, so fast-json-stringify drops anything a handler did not mean to send (house style principle 6, layer 1).
import { CHAINS, WALLET_TYPES } from './domain/wallet-store.ts'

export const metaSchema = {
  type: 'object',
  properties: {
    requestId: { type: 'string' },
    timestamp: { type: 'string' },
    cursor: { type: ['string', 'null'] },
    hasMore: { type: 'boolean' }
  },
  required: ['requestId', 'timestamp'],
  additionalProperties: false
} as const

export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } }, required: ['field', 'message'], additionalProperties: false } }
      },
      required: ['code', 'message', 'details'],
      additionalProperties: false
    },
    meta: metaSchema
  },
  required: ['error', 'meta'],
  additionalProperties: false
} as const

export function envelopeSchema (data: object) {
  return { type: 'object', properties: { data, meta: metaSchema }, required: ['data', 'meta'], additionalProperties: false } as const
}

export const walletSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    type: { type: 'string', enum: WALLET_TYPES },
    chain: { type: 'string', enum: CHAINS },
    address: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' }
  },
  required: ['id', 'name', 'type', 'chain', 'address', 'createdAt'],
  additionalProperties: false
} as const

export const keySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    tenantId: { type: 'string' },
    name: { type: 'string' },
    prefix: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    rateLimit: { type: ['integer', 'null'] },
    expiresAt: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    lastUsedAt: { type: ['string', 'null'] },
    revokedAt: { type: ['string', 'null'] }
  },
  additionalProperties: false
} as const

/** POST /api/keys: the key's description plus the full `key`, shown this once (contract 2.6). */
export const keyCreatedSchema = { ...keySchema, properties: { ...keySchema.properties, key: { type: 'string' } } } as const

/** GET /api/keys/validate, documented without the data wrapper (contract 2.6). */
export const keyValidationSchema = {
  type: 'object',
  properties: {
    valid: { type: 'boolean' },
    tenantId: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    rateLimit: { type: 'object', properties: { limit: { type: 'integer' }, remaining: { type: 'integer' }, resetsAt: { type: 'string' } }, additionalProperties: false }
  },
  additionalProperties: false
} as const

/** The public health routes (contract 1.7). */
export const healthSchema = { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } }, required: ['status'], additionalProperties: false } as const
