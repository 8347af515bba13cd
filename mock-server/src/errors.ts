// Every wire error of the mock, in one place (contract 1.5, 1.6; house style principle 5).
// A test counts this table against the contract, so adding a code here means adding it there.

export const ERROR_CODES = {
  validation_error: 400,
  unsupported_api_version: 400,
  missing_api_key: 401,
  invalid_api_key: 401,
  expired_api_key: 401,
  revoked_api_key: 401,
  missing_tenant_id: 401,
  tenant_mismatch: 403,
  insufficient_scope: 403,
  network_mismatch: 403,
  not_found: 404,
  idempotency_in_progress: 409,
  payload_too_large: 413,
  idempotency_key_reused: 422,
  rate_limited: 429,
  too_many_streams: 429,
  internal_error: 500,
  service_unavailable: 503
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export interface ErrorDetail {
  field: string
  message: string
}

/**
 * An error with a contract code. Thrown by domain code and routes, turned into the envelope of
 * contract 1.5 by the app's error handler. `headers` carries what the envelope alone cannot
 * (Retry-After on 429/503). Never put a secret in `message` or `details`.
 */
export class ApiError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly details: ErrorDetail[]
  readonly headers: Record<string, string> | undefined

  constructor (code: ErrorCode, message: string, details: ErrorDetail[] = [], headers?: Record<string, string>, statusCode?: number) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.statusCode = statusCode ?? ERROR_CODES[code]
    this.details = details
    this.headers = headers
  }
}

export function isApiError (err: unknown): err is ApiError {
  return err instanceof ApiError
}

/** Messages for errors that carry no per-request data: built once (house style principle 2). */
export const MESSAGES = {
  missing_api_key: 'No API key: send it in the X-API-Key header (or Authorization: Bearer <key>).',
  invalid_api_key: 'The API key is malformed, unknown, or its secret does not match. Keys look like tnz_<tenant>_<secret>.',
  expired_api_key: 'The API key is past its expiresAt. Create a new key and switch to it.',
  revoked_api_key: 'The API key has been revoked. Switch to a live key of this tenant.',
  missing_tenant_id: 'No X-Tenant-Id header: send the tenant id or slug that the key belongs to.',
  tenant_mismatch: 'X-Tenant-Id does not name the tenant this key belongs to.',
  insufficient_scope: 'The API key lacks the scope this route needs.',
  network_mismatch: 'This API key is bound to another network than X-Network names (devnet when absent); use the key issued for this network.',
  not_found: 'No such route or resource.',
  idempotency_in_progress: 'A request with this X-Idempotency-Key is still being processed; retry after it finishes.',
  idempotency_key_reused: 'This X-Idempotency-Key was used with a different request body; use a new key for a new request.',
  payload_too_large: 'The request body is over the size limit.',
  rate_limited: 'Rate limit exceeded for this API key; wait Retry-After seconds before the next request.',
  too_many_streams: 'Too many concurrent event streams for this API key; close one before opening another.',
  internal_error: 'Internal error.',
  service_unavailable: 'Service unavailable; retry after Retry-After seconds.'
} as const satisfies Partial<Record<ErrorCode, string>>
