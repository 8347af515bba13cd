// Step 5: the request body (contract 1.4), parsed the way the Fastify app's parsers parse it, with the
// same refusals.
import { ApiError, MESSAGES } from '../errors.ts'
import { jsonTooDeep } from '../domain/json-limits.ts'

const bodyTooLarge = new ApiError('payload_too_large', MESSAGES.payload_too_large, [{ field: 'body', message: 'over the size limit' }])
const badMediaType = new ApiError('validation_error', 'Send bodies as application/json.', [{ field: 'Content-Type', message: 'must be application/json' }])
const emptyJson = new ApiError('validation_error', 'The body is empty; send a JSON object.', [{ field: 'body', message: 'must be a JSON object' }])
const badJson = new ApiError('validation_error', 'The body is not valid JSON.', [{ field: 'body', message: 'must be valid JSON' }])
/** The refusals of parseBody, for app.ts to answer Fastify's own parser errors with the very same objects. */
export const BODY_ERRORS = { tooLarge: bodyTooLarge, badMediaType, emptyJson, badJson } as const
const JSON_TYPE_RE = /^application\/json\s*(?:;|$)/i
const TEXT_TYPE_RE = /^text\/plain\s*(?:;|$)/i

const tooDeep = new Map<number, ApiError>()
function tooDeepError (max: number): ApiError {
  let e = tooDeep.get(max)
  if (e === undefined) {
    e = new ApiError('validation_error', `The body nests objects or arrays deeper than ${max} levels.`, [{ field: 'body', message: `nested deeper than ${max} levels` }])
    tooDeep.set(max, e)
  }
  return e
}

/** JSON with a `__proto__` key, or a `constructor` holding `prototype`, is refused (Fastify's default poisoning rules). */
function poisoned (v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false
  if (Array.isArray(v)) return v.some(poisoned)
  const o = v as Record<string, unknown>
  if (Object.hasOwn(o, '__proto__')) return true
  const c = o.constructor
  if (Object.hasOwn(o, 'constructor') && c !== null && typeof c === 'object' && Object.hasOwn(c, 'prototype')) return true
  return Object.values(o).some(poisoned)
}

/**
 * The body as both mocks parse it (the Fastify app's JSON parser is this function too): JSON for
 * application/json, a string for text/plain, nothing for an empty body without a type; anything else
 * is refused like Fastify's parsers refuse it. Size and nesting depth are checked on the raw text,
 * before parsing: nothing later (the idempotency hash, the record, a frame) can meet a value too deep
 * for its stack.
 */
export function parseBody (contentType: string | null | undefined, raw: string, limitBytes: number, maxDepth: number): unknown {
  if (Buffer.byteLength(raw) > limitBytes) throw bodyTooLarge
  if (contentType === null || contentType === undefined || contentType === '') {
    if (raw.length === 0) return undefined
    throw badMediaType
  }
  if (JSON_TYPE_RE.test(contentType)) {
    if (raw.length === 0) throw emptyJson
    if (jsonTooDeep(raw, maxDepth)) throw tooDeepError(maxDepth)
    let v: unknown
    try {
      v = JSON.parse(raw)
    } catch {
      throw badJson
    }
    if (poisoned(v)) throw badJson
    return v
  }
  if (TEXT_TYPE_RE.test(contentType)) return raw
  throw badMediaType
}
