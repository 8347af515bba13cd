// Fingerprints of every 12-character run of the live keys' secrets (contract 1.5, 2.7: no log line,
// error body, record entry or span may hold a key's secret), so a value that carries a piece of a
// secret is caught whatever surrounds it: an X-Idempotency-Key or X-Request-Id set to part of the
// secret, a path segment, a JSON field name. 12 characters is the run the leak scanner looks for too
// (harness/src/scan). The secrets themselves are never kept: each window is reduced to a 52-bit
// fingerprint (two polynomial hashes with bases drawn per process), and values are checked with a
// rolling hash, one pass per value. Process-wide on purpose: a secret of one mock instance is redacted
// by every other in the same process, which can only redact more.
import { randomInt } from 'node:crypto'

export const WINDOW = 12
export const REDACTED = '[REDACTED]'
const P1 = 2147483647 // 2^31 - 1
const P2 = 2147483629 // 2^31 - 19
const B1 = randomInt(256, 1 << 20)
const B2 = randomInt(256, 1 << 20)
const LOW21 = 1 << 21

function powMod (b: number, e: number, p: number): number {
  let r = 1
  for (let i = 0; i < e; i++) r = (r * b) % p
  return r
}
const POW1 = powMod(B1, WINDOW - 1, P1)
const POW2 = powMod(B2, WINDOW - 1, P2)

/** At most this many fingerprints (about 60,000 keys); the oldest keys' are dropped first. */
const MAX_FINGERPRINTS = 2_000_000
const fingerprints = new Map<number, number>()
const byKey: number[][] = []
let total = 0

/** Calls fn(fingerprint, endIndex) for every window of s. */
function windows (s: string, fn: (fp: number) => boolean | void): boolean {
  if (s.length < WINDOW) return false
  let h1 = 0
  let h2 = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (i >= WINDOW) {
      const out = s.charCodeAt(i - WINDOW)
      h1 = (h1 + P1 - (out * POW1) % P1) % P1
      h2 = (h2 + P2 - (out * POW2) % P2) % P2
    }
    h1 = (h1 * B1 + c) % P1
    h2 = (h2 * B2 + c) % P2
    if (i >= WINDOW - 1 && fn(h1 * LOW21 + (h2 % LOW21)) === true) return true
  }
  return false
}

/** Remember a live key's secret (the part after `tnz_<tenant>_`): its windows, never the text. */
export function rememberSecret (secret: string): void {
  const fps: number[] = []
  windows(secret, (fp) => { fps.push(fp); fingerprints.set(fp, (fingerprints.get(fp) ?? 0) + 1) })
  byKey.push(fps)
  total += fps.length
  while (total > MAX_FINGERPRINTS && byKey.length > 1) {
    const old = byKey.shift()!
    total -= old.length
    for (const fp of old) {
      const n = fingerprints.get(fp)! - 1
      if (n === 0) fingerprints.delete(fp)
      else fingerprints.set(fp, n)
    }
  }
}

/** Whether `s` holds a 12-character run of a remembered secret. */
export function containsKnownSecret (s: string): boolean {
  if (fingerprints.size === 0 || s.length < WINDOW) return false
  return windows(s, (fp) => fingerprints.has(fp))
}

const KEY_TEXT = /tnz(?:_|%5f)[A-Za-z0-9_%-]*/gi
const TOKEN = /[A-Za-z0-9_+/=%-]{12,}/g

/**
 * `text` with every key (`tnz_...`, raw or percent-encoded) and every run of token characters that
 * holds a piece of a live secret replaced by [REDACTED]. For whole log lines and messages.
 */
export function redactSecrets (text: string): string {
  let out = text
  if (out.length >= 4 && /tnz(?:_|%5f)/i.test(out)) out = out.replace(KEY_TEXT, REDACTED)
  if (fingerprints.size === 0 || out.length < WINDOW) return out
  if (!containsKnownSecret(out)) return out
  return out.replace(TOKEN, (run) => (containsKnownSecret(run) ? REDACTED : run))
}
