// W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header), built in
// the script so no remote library is needed. Pure: the random bytes come from the caller (k6/crypto in
// the scripts, a fixed source in tests).

const HEX = '0123456789abcdef'

export function toHex (bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number
    s += HEX[b >> 4]! + HEX[b & 15]!
  }
  return s
}

/** An id of `n` random bytes as lower-case hex; never all zeros, which the spec forbids (3.2.2.3, 3.2.2.4). */
export function randomId (randomBytes: (n: number) => Uint8Array, n: number): string {
  const bytes = randomBytes(n)
  let zero = true
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) { zero = false; break }
  if (zero) bytes[n - 1] = 1
  return toHex(bytes)
}

/** `00-<32 hex trace-id>-<16 hex parent-id>-01`: version 00, sampled, so the mock's spans join the trace. */
export function formatTraceparent (traceId: string, spanId: string, sampled = true): string {
  if (!/^[0-9a-f]{32}$/.test(traceId) || /^0+$/.test(traceId)) throw new Error(`trace-id must be 32 lower-case hex chars, not all zero: ${traceId}`)
  if (!/^[0-9a-f]{16}$/.test(spanId) || /^0+$/.test(spanId)) throw new Error(`parent-id must be 16 lower-case hex chars, not all zero: ${spanId}`)
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`
}

/**
 * One trace per VU iteration, one span id per request: the requests of an iteration (a burst of
 * duplicates, a chain of reconnects) land in one trace in Tempo.
 */
export function createTracer (randomBytes: (n: number) => Uint8Array) {
  let iterationKey = ''
  let traceId = ''
  return {
    traceparent (key: string): string {
      if (key !== iterationKey || traceId === '') {
        iterationKey = key
        traceId = randomId(randomBytes, 16)
      }
      return formatTraceparent(traceId, randomId(randomBytes, 8))
    },
    traceId (): string {
      return traceId
    }
  }
}
