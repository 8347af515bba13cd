// The envelopes of contract 1.4 and 1.5, and their response schemas. Schemas list every field, so
// fast-json-stringify drops anything a handler did not mean to send (house style principle 6, layer 1).
import type { FastifyRequest } from 'fastify'
import type { ApiError } from './errors.ts'

export interface Meta {
  requestId: string
  timestamp: string
  cursor?: string | null
  hasMore?: boolean
}

export function meta (request: FastifyRequest, now: number): Meta {
  return { requestId: request.id, timestamp: new Date(now).toISOString() }
}

export function errorBody (request: FastifyRequest, err: ApiError, now: number) {
  return { error: { code: err.code, message: err.message, details: err.details }, meta: meta(request, now) }
}

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
