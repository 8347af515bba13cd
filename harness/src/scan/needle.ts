// Buffer.indexOf finds a needle by looking for its first byte, so its speed depends on how common
// that byte is in the haystack ('t' of `tnz_` is everywhere in logs, 'z' is not). A sampled byte
// histogram of the haystack picks, for each needle, the rarest byte to look for first.

export type Histogram = Uint32Array | null

const SAMPLES = 64
const SAMPLE_BYTES = 256

/** Byte counts over SAMPLES evenly spread slices of `buf`; null when `buf` is small enough not to matter. */
export function sampleHistogram (buf: Uint8Array): Histogram {
  if (buf.length < SAMPLES * SAMPLE_BYTES * 4) return null
  const h = new Uint32Array(256)
  const stride = Math.floor(buf.length / SAMPLES)
  for (let s = 0; s < SAMPLES; s++) {
    const a = s * stride
    for (let i = a; i < a + SAMPLE_BYTES; i++) h[buf[i]!]!++
  }
  return h
}

/** Position in `needle` to search from: its rarest byte, keeping at least two bytes to search for. */
export function anchorOf (needle: Uint8Array, hist: Histogram): number {
  if (hist === null || needle.length <= 2) return 0
  let best = 0
  for (let k = 1; k <= needle.length - 2; k++) if (hist[needle[k]!]! < hist[needle[best]!]!) best = k
  return best
}

/** Every start of `needle` in `buf` at or after `from`, in order; `visit` returns where to resume. */
export function forEachMatch (buf: Buffer, needle: Buffer, hist: Histogram, visit: (at: number) => number): void {
  const k = anchorOf(needle, hist)
  const tail = k === 0 ? needle : needle.subarray(k)
  let from = 0
  for (let p = buf.indexOf(tail, from + k); p !== -1; p = buf.indexOf(tail, from + k)) {
    const at = p - k
    let same = at >= 0
    for (let i = 0; same && i < k; i++) same = buf[at + i] === needle[i]
    if (!same) {
      from = at + 1
      continue
    }
    from = Math.max(at + 1, visit(at))
  }
}
