// Secret detection for what the record keeps (contract 2.1, 7.3): the one test of "could this carry
// a key" that the record entry, the stream's subjects and the spans all use. A key is caught by its
// shape (`tnz_`, raw or encoded, or a long mixed-case base64 run); a piece of a live key's secret, 12
// characters or more, by the fingerprints of domain/secret-windows.ts.
import { containsKnownSecret } from '../domain/secret-windows.ts'

export { containsKnownSecret, redactSecrets, REDACTED } from '../domain/secret-windows.ts'

/** `tnz_` or its percent-encoded form: the start of a Tenzro key (contract 2.1). */
const KEY_START = /tnz(?:_|%5f)/i
/** A long run of base64/base64url characters: a secret (43 chars) or an encoded key is one. */
const LONG_RUN = /[A-Za-z0-9+/=_-]{24,}/g
const UPPER = /[A-Z]/
const LOWER = /[a-z]/

function secretRun (s: string): boolean {
  if (KEY_START.test(s)) return true
  LONG_RUN.lastIndex = 0
  for (let m = LONG_RUN.exec(s); m !== null; m = LONG_RUN.exec(s)) {
    // Random base64 mixes cases; UUIDs, hex ids and words do not trip this.
    if (UPPER.test(m[0]) && LOWER.test(m[0])) return true
  }
  return false
}

/** Whether `s` could carry a key, raw, percent-encoded or base64-encoded. */
export function looksSecret (s: string): boolean {
  if (secretRun(s) || containsKnownSecret(s)) return true
  if (s.includes('%')) {
    try {
      const decoded = decodeURIComponent(s)
      return secretRun(decoded) || containsKnownSecret(decoded)
    } catch {
      return true
    }
  }
  return false
}

/** Subject patterns as the record keeps them (7.3): one that could carry a key is kept as REDACTED. */
export function recordedSubjects (patterns: readonly string[]): readonly string[] | null {
  if (patterns.length === 0) return null
  return patterns.some(looksSecret) ? patterns.map((p) => (looksSecret(p) ? 'REDACTED' : p)) : patterns
}
