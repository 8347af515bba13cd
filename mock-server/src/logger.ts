// The mock's pino logger. Three of the four secret layers live here (house style principle 6):
// serializers that carry no headers, no query strings and no stacks; redact paths for anything
// key-shaped that still reaches a log call; and a test switch that turns both off so the canary test
// can prove it would notice.
import pino, { type DestinationStream, type Logger } from 'pino'
import { redactSecrets } from './domain/secret-windows.ts'

// Explicit paths only: wildcard paths cost ~9 % of a request in pino's redactor.
export const REDACT_PATHS = [
  'headers["x-api-key"]', 'headers["x-admin-api-key"]', 'headers.authorization', 'headers["x-harness-token"]',
  'req.headers["x-api-key"]', 'req.headers["x-admin-api-key"]', 'req.headers.authorization', 'req.headers["x-harness-token"]',
  'key', 'apiKey', 'secret', 'token', 'body.key', 'body.apiKey', 'err.config.headers'
]

/** Errors are logged as type, code and message only: no stack, no file paths (contract 1.5). */
export function serializeError (err: unknown) {
  if (err === null || typeof err !== 'object') return { message: String(err) }
  const e = err as { name?: string, code?: string, message?: string, statusCode?: number }
  return { type: e.name, code: e.code, statusCode: e.statusCode, message: e.message }
}

export function createLogger ({ level, unsafeDisableRedaction, stream }: { level: string, unsafeDisableRedaction: boolean, stream?: DestinationStream | undefined }): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'tenzro-mock' },
    messageKey: 'msg',
    serializers: unsafeDisableRedaction
      ? {}
      : {
          err: serializeError,
          req: (req: { method?: string, url?: string }) => ({ method: req.method, path: typeof req.url === 'string' ? req.url.split('?')[0] : undefined }),
          res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode })
        },
    ...(unsafeDisableRedaction
      ? {}
      : {
          redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
          // The last layer: whatever a log call was given (a fault id, a message, a field name), a key or
          // a 12-char run of a live secret never reaches the destination. Only lines through pino pay
          // for it: the per-request line is the record entry, built from redacted fields.
          hooks: { streamWrite: redactSecrets }
        })
  }
  return stream === undefined ? pino(options) : pino(options, stream)
}
