// What a span may say about a request (house style principle 6): names, paths and queries with
// anything that could hold a key, raw or encoded, replaced by REDACTED.
import { looksSecret } from '../pipeline/secrets.ts'
import * as N from './names.ts'

/** A client- or operator-chosen name (subject, fault id) as it may appear in a span. */
export function safeName (s: string): string {
  return looksSecret(s) ? N.REDACTED : s
}

/** url.path with every segment that could hold a key replaced (the record redacts the same way). */
export function redactPath (path: string): string {
  if (!looksSecret(path)) return path
  return path.split('/').map((seg) => (looksSecret(seg) ? N.REDACTED : seg)).join('/')
}

/**
 * Query parameters of the contract (3.2, 4.2) whose values are kept when they have the expected shape.
 * Every other value, and every name we do not know that could hold a key, becomes REDACTED.
 */
const QUERY_SHAPES: Record<string, RegExp> = {
  limit: /^\d{1,6}$/,
  chain: /^[a-z]{1,16}$/,
  last_event_id: /^\d{1,15}$/,
  subjects: /^[A-Za-z0-9_.*>,%-]{1,512}$/
}
const PLAIN_NAME = /^[a-z][a-z0-9_.-]{0,31}$/

/** url.query (semconv: sensitive content SHOULD be scrubbed), e.g. `limit=20&cursor=REDACTED`. */
export function redactQuery (query: string): string {
  let out = ''
  for (const part of query.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const name = eq === -1 ? part : part.slice(0, eq)
    const value = eq === -1 ? undefined : part.slice(eq + 1)
    const safeName = PLAIN_NAME.test(name) && !looksSecret(name) ? name : N.REDACTED
    let safeValue: string | undefined
    if (value !== undefined) {
      const shape = safeName === name ? QUERY_SHAPES[name] : undefined
      safeValue = shape !== undefined && shape.test(value) && !looksSecret(value) ? value : N.REDACTED
    }
    out += (out === '' ? '' : '&') + safeName + (safeValue === undefined ? '' : '=' + safeValue)
  }
  return out
}
