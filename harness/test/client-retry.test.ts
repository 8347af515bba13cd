// The retry policy's pure parts (house style "Client"): Retry-After, full jitter, what is retried.
import { describe, expect, it } from 'vitest'
import { backoffMs, parseRetryAfter } from '../src/client/index.ts'
import { isRetryable, resolveRetry } from '../src/client/retry.ts'
import { seeded } from './helpers/mock.ts'

describe('retry policy', () => {
  it('reads Retry-After as delay-seconds or as an HTTP date (RFC 9110 10.2.3)', () => {
    const now = Date.parse('2026-06-01T12:00:00Z')
    expect(parseRetryAfter('3', now)).toBe(3000)
    expect(parseRetryAfter(' 0 ', now)).toBe(0)
    expect(parseRetryAfter('Mon, 01 Jun 2026 12:00:07 GMT', now)).toBe(7000)
    expect(parseRetryAfter('Mon, 01 Jun 2026 11:59:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter('-1', now)).toBeUndefined()
    expect(parseRetryAfter(null, now)).toBeUndefined()
  })

  it('draws full-jitter backoff below min(cap, base * 2^n), reproducibly from a seed', () => {
    const a = seeded(7)
    const b = seeded(7)
    for (let n = 0; n < 12; n++) {
      const d = backoffMs(n, 100, 5000, a)
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThan(Math.min(5000, 100 * 2 ** n))
      expect(backoffMs(n, 100, 5000, b)).toBe(d)
    }
    // Full jitter spreads retries over the whole range, not around a mean.
    const r = seeded(1)
    const draws = Array.from({ length: 1000 }, () => backoffMs(3, 100, 5000, r))
    expect(Math.min(...draws)).toBeLessThan(80)
    expect(Math.max(...draws)).toBeGreaterThan(720)
  })

  it('retries 429 and 409 in progress always, 5xx and network failures only when idempotent, other 4xx never', () => {
    const table: Array<[number, string, boolean, boolean]> = [
      [429, 'rate_limited', false, true],
      [429, 'too_many_streams', true, true],
      [409, 'idempotency_in_progress', true, true],
      [409, 'conflict', true, false],
      [500, 'internal_error', true, true],
      [500, 'internal_error', false, false],
      [502, 'internal_error', true, true],
      [503, 'service_unavailable', true, true],
      [504, 'http_504', true, true],
      [503, 'service_unavailable', false, false],
      [0, 'network_error', true, true],
      [0, 'network_error', false, false],
      [400, 'validation_error', true, false],
      [401, 'invalid_api_key', true, false],
      [403, 'tenant_mismatch', true, false],
      [404, 'not_found', true, false],
      [422, 'idempotency_key_reused', true, false],
      [413, 'payload_too_large', true, false]
    ]
    for (const [status, code, idempotent, want] of table) expect([status, code, idempotent, isRetryable(status, code, idempotent)]).toEqual([status, code, idempotent, want])
  })

  it('refuses options that cannot work', () => {
    expect(() => resolveRetry({ maxAttempts: 0 })).toThrow(/maxAttempts/)
    expect(() => resolveRetry({ baseMs: 100, capMs: 10 })).toThrow(/capMs/)
    expect(resolveRetry({ maxAttempts: 3 }).deadlineMs).toBe(60_000)
  })
})
