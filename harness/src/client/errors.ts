// Errors of the reference client (house style principle 5). A TenzroApiError carries what a caller
// needs to decide (status, code, requestId, retryAfterMs) and nothing that could leak: never the
// request headers, never the key, never the raw cause object of the transport (contract 1.5: no
// secret in any error body or message; we hold ourselves to the same rule on the client side).

/** Codes the client adds to the wire codes of contract 1.6 for failures that have no response. */
export const CLIENT_ERROR_CODES = {
  /** The connection failed or dropped before a full response arrived (includes 7.2 lost-response). */
  network_error: 'network_error',
  /** One attempt took longer than retry.attemptTimeoutMs. */
  timeout: 'timeout',
  /** The operation's deadline (retry.deadlineMs) passed, or a Retry-After reached past it. */
  deadline_exceeded: 'deadline_exceeded',
  /** A response that is not the envelope of contract 1.4/1.5 (bad JSON, wrong content type). */
  invalid_response: 'invalid_response',
  /** The caller's AbortSignal fired. */
  aborted: 'aborted',
  /** The options given to the client are unusable (a programmer error). */
  invalid_options: 'invalid_options'
} as const

export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES

export interface ErrorDetail {
  field: string
  message: string
}

export interface TenzroApiErrorInit {
  code: string
  message: string
  /** HTTP status, 0 when no response arrived. */
  status?: number
  requestId?: string | undefined
  retryAfterMs?: number | undefined
  details?: ErrorDetail[]
  attempts?: number
  /** A sanitised description of the transport failure: name, code and message only. */
  cause?: SafeCause | undefined
}

export interface SafeCause {
  name: string
  code: string | undefined
  message: string
}

export class TenzroApiError extends Error {
  readonly code: string
  readonly status: number
  readonly requestId: string | undefined
  readonly retryAfterMs: number | undefined
  readonly details: ErrorDetail[]
  readonly attempts: number

  constructor (init: TenzroApiErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause })
    this.name = 'TenzroApiError'
    this.code = init.code
    this.status = init.status ?? 0
    this.requestId = init.requestId
    this.retryAfterMs = init.retryAfterMs
    this.details = init.details ?? []
    this.attempts = init.attempts ?? 1
  }

  toJSON () {
    return {
      name: this.name,
      code: this.code,
      status: this.status,
      requestId: this.requestId,
      retryAfterMs: this.retryAfterMs,
      details: this.details,
      attempts: this.attempts,
      message: this.message
    }
  }
}

export function isTenzroApiError (err: unknown): err is TenzroApiError {
  return err instanceof TenzroApiError
}

/**
 * Replaces every form of the secrets a caller could find in text: raw, URL-encoded and base64
 * (standard and url-safe). Built once per client; used only on error paths, never per request.
 */
export function createRedactor (secrets: readonly string[]): (text: string) => string {
  const forms = new Set<string>()
  for (const s of secrets) {
    if (s.length < 8) continue
    forms.add(s)
    forms.add(encodeURIComponent(s))
    forms.add(Buffer.from(s).toString('base64'))
    forms.add(Buffer.from(s).toString('base64url'))
  }
  const list = [...forms]
  return function redact (text: string): string {
    let out = text
    for (const f of list) if (out.includes(f)) out = out.split(f).join('[REDACTED]')
    return out
  }
}

/** The innermost cause of a transport error, reduced to name, code and message (undici wraps: TypeError('fetch failed') -> SocketError). */
export function safeCause (err: unknown, redact: (s: string) => string): SafeCause {
  let e: unknown = err
  for (let i = 0; i < 4; i++) {
    const next = (e as { cause?: unknown } | null)?.cause
    if (next === undefined || next === null || typeof next !== 'object') break
    e = next
  }
  const o = (typeof e === 'object' && e !== null ? e : {}) as { name?: unknown, code?: unknown, message?: unknown }
  return {
    name: typeof o.name === 'string' ? o.name : 'Error',
    code: typeof o.code === 'string' ? o.code : undefined,
    message: redact(typeof o.message === 'string' ? o.message : String(e))
  }
}
