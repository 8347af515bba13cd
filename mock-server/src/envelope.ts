// The response schemas of the envelopes of contract 1.4 and 1.5 (the envelopes themselves are
// pipeline/envelopes.ts dataEnvelope and errorEnvelope, shared with the msw handlers). Schemas list every
// field, so fast-json-stringify drops anything a handler did not mean to send (house style principle 6, layer 1).
export const metaSchema = {
  type: 'object',
  properties: {
    requestId: { type: 'string' },
    timestamp: { type: 'string' },
    cursor: { type: ['string', 'null'] },
    hasMore: { type: 'boolean' }
  },
  required: ['requestId', 'timestamp']
} as const

export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } }, required: ['field', 'message'] } }
      },
      required: ['code', 'message', 'details']
    },
    meta: metaSchema
  },
  required: ['error', 'meta']
} as const

export function envelopeSchema (data: object) {
  return { type: 'object', properties: { data, meta: metaSchema }, required: ['data', 'meta'] } as const
}

export const walletSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    type: { type: 'string' },
    chain: { type: 'string' },
    address: { type: 'string' },
    createdAt: { type: 'string' }
  },
  required: ['id', 'name', 'type', 'chain', 'address', 'createdAt']
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
  }
} as const
