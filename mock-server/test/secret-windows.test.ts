// The fingerprint index of live secrets (domain/secret-windows.ts): any 12-char run of a remembered
// secret is found wherever it sits in a value, nothing shorter and nothing unrelated is, and
// redactSecrets replaces whole tokens and keys.
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { containsKnownSecret, redactSecrets, rememberSecret } from '../src/domain/secret-windows.ts'

describe('secret windows', () => {
  const secret = randomBytes(32).toString('base64url')
  rememberSecret(secret)

  it('finds every 12-char run of the secret inside any text', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: secret.length - 12 }), fc.integer({ min: 12, max: 43 }), fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), (start, len, before, after) => {
      const run = secret.slice(start, Math.min(secret.length, start + len))
      fc.pre(run.length >= 12)
      expect(containsKnownSecret(before + run + after)).toBe(true)
    }), { seed: 14, numRuns: 500 })
  })

  it('does not find 11-char runs or unrelated text', () => {
    expect(containsKnownSecret(secret.slice(3, 14))).toBe(false)
    fc.assert(fc.property(fc.string({ minLength: 12, maxLength: 200 }), (s) => {
      fc.pre(!s.includes(secret.slice(0, 12)))
      expect(containsKnownSecret(s)).toBe(false)
    }), { seed: 14, numRuns: 500 })
  })

  it('redacts keys and tokens holding a run of the secret, and leaves the rest of the text', () => {
    const line = `{"msg":"fault plan set","faults":["tnz_acme_${secret}","x-${secret.slice(5, 19)}-y","plain-id"]}`
    const out = redactSecrets(line)
    expect(out).toBe('{"msg":"fault plan set","faults":["[REDACTED]","[REDACTED]","plain-id"]}')
  })
})
