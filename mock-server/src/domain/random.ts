// Seeded randomness (house style principle 3): every fault and every fixture is reproducible from a seed.

/** A 32-bit string hash (FNV-1a), used to derive independent sub-seeds from (seed, name). */
export function hash32 (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** mulberry32: small, fast, good enough for fault schedules and jitter. Returns floats in [0, 1). */
export function createRandom (seed: number): () => number {
  let a = seed >>> 0
  return function random () {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function deriveRandom (seed: number, name: string): () => number {
  return createRandom((hash32(name) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0)
}
