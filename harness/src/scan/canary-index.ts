// Canary needles, built once per scanner (house style principle 2), and the one-pass search over
// them. A canary is found when the text holds at least MIN_RUN whole characters of its secret in
// one of the direct forms: raw, hex (lower or upper) or base64 (standard or url alphabet, at any of
// the 3 byte alignments). Wrapped forms (URL encoding, JSON escapes) are decoded by decoders.ts
// and searched with the same index.

/** Contract 2.1: `tnz_<tenant>_<secret>`, tenant 1-32 of [a-z0-9], secret 43 base64url chars. */
export const KEY_FORMAT = /^tnz_([a-z0-9]{1,32})_([A-Za-z0-9_-]{43})$/

/** A leak counts from this many whole characters of a secret (any run of 12 of its characters is a leak). */
export const MIN_RUN = 12

export type DirectEncoding = 'raw' | 'hex' | 'base64' | 'base64url'

export interface Canary {
  index: number
  /** The secret part: what must never appear, in whole or in a run of MIN_RUN characters. */
  secret: Buffer
  /** `tnz_<tenant>_` for a well-formed key, so a raw finding can cover the whole key. */
  prefix: Buffer | null
  /** What a preview shows instead of the key: `tnz_<tenant>_****`. */
  label: string
}

interface Edge {
  value: number
  mask: number
}

interface Ref {
  canary: number
  encoding: DirectEncoding
  /** The stable encoded text: characters that depend only on the secret. */
  text: Buffer
  bitsPerChar: number
  /** Bit of the secret where text[0] starts. */
  bitOffset: number
  /** base64 only: the partly-secret character just outside the stable text, checked under a mask. */
  left: Edge | null
  right: Edge | null
  alphabet: Int8Array | null
  secretBits: number
  minBytes: number
}

export interface CanaryRun {
  canary: number
  encoding: DirectEncoding
  start: number
  end: number
  /** First whole secret character the match proves. */
  secretStart: number
  /** Whole secret characters the match proves. */
  covered: number
  full: boolean
}

export function parseCanary (key: string, index: number): Canary {
  if (typeof key !== 'string') throw new TypeError(`canary ${index} is not a string`)
  const m = KEY_FORMAT.exec(key)
  if (m !== null) {
    return {
      index,
      secret: Buffer.from(m[2]!, 'latin1'),
      prefix: Buffer.from(`tnz_${m[1]!}_`, 'latin1'),
      label: `tnz_${m[1]!}_****`
    }
  }
  // Any other token can be a canary too (an admin token, a webhook secret): the whole of it is secret.
  if (key.length < MIN_RUN) {
    throw new TypeError(`canary ${index} is ${key.length} characters long; a canary needs at least ${MIN_RUN} (a Tenzro key is tnz_<tenant>_<43 base64url chars>, contract 2.1)`)
  }
  return { index, secret: Buffer.from(key, 'utf8'), prefix: null, label: '****' }
}

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

function decodeTable (alphabet: string): Int8Array {
  const t = new Int8Array(256).fill(-1)
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i
  return t
}

const STD_TABLE = decodeTable(STD)
const URL_TABLE = decodeTable(URL_ALPHABET)

function base64Refs (canary: number, secret: Buffer, minBytes: number, url: boolean): Ref[] {
  const refs: Ref[] = []
  const table = url ? URL_TABLE : STD_TABLE
  for (let a = 0; a < 3; a++) {
    // The secret behind `a` unknown bytes of its 3-byte group: characters that mix in unknown
    // bits are not stable, except under a mask at the two ends.
    const padded = Buffer.concat([Buffer.alloc(a), secret])
    const full = padded.toString(url ? 'base64url' : 'base64').replace(/=+$/, '')
    const totalBits = padded.length * 8
    const i0 = Math.ceil(8 * a / 6)
    const iEnd = Math.floor(totalBits / 6)
    if (iEnd - i0 < 4) continue
    const bitOffset = 6 * i0 - 8 * a
    let left: Edge | null = null
    if (bitOffset > 0) {
      const mask = (1 << bitOffset) - 1
      left = { value: table[full.charCodeAt(i0 - 1)]! & mask, mask }
    }
    let right: Edge | null = null
    const rest = totalBits - 6 * iEnd
    if (rest > 0) {
      const mask = ((1 << rest) - 1) << (6 - rest)
      right = { value: table[full.charCodeAt(iEnd)]! & mask, mask }
    }
    refs.push({
      canary,
      encoding: url ? 'base64url' : 'base64',
      text: Buffer.from(full.slice(i0, iEnd), 'latin1'),
      bitsPerChar: 6,
      bitOffset,
      left,
      right,
      alphabet: table,
      secretBits: secret.length * 8,
      minBytes
    })
  }
  return refs
}

function refsFor (c: Canary): Ref[] {
  const minBytes = Math.min(MIN_RUN, c.secret.length)
  const plain = (encoding: DirectEncoding, text: string | Buffer, bitsPerChar: number): Ref => ({
    canary: c.index,
    encoding,
    text: typeof text === 'string' ? Buffer.from(text, 'latin1') : text,
    bitsPerChar,
    bitOffset: 0,
    left: null,
    right: null,
    alphabet: null,
    secretBits: c.secret.length * 8,
    minBytes
  })
  const hex = c.secret.toString('hex')
  return [
    plain('raw', c.secret, 8),
    plain('hex', hex, 4),
    plain('hex', hex.toUpperCase(), 4),
    ...base64Refs(c.index, c.secret, minBytes, false),
    ...base64Refs(c.index, c.secret, minBytes, true)
  ]
}

// Sampling: a q-gram of 4 bytes is read every STEP bytes, so any run of STEP + 3 or more bytes
// that equals a part of a needle contains one sampled q-gram whole. MIN_RUN (12) >= STEP + 3.
const STEP = 8
const HASH_MUL = 0x9e3779b1
const HASH_SHIFT = 12 // 20-bit hash: a 1 Mbit filter, far emptier than the few hundred q-grams

export function createCanaryIndex (canaries: Canary[]) {
  const refs: Ref[] = []
  const seen = new Set<string>()
  for (const c of canaries) {
    for (const ref of refsFor(c)) {
      const id = `${c.index}:${ref.text.toString('latin1')}`
      if (seen.has(id)) continue // std and url base64 agree when the encoding has no + or /
      seen.add(id)
      refs.push(ref)
    }
  }
  const filter = new Int32Array(1 << (32 - HASH_SHIFT - 5))
  const table = new Map<number, number[]>()
  for (let r = 0; r < refs.length; r++) {
    const t = refs[r]!.text
    for (let p = 0; p + 4 <= t.length; p++) {
      const v = t[p]! | (t[p + 1]! << 8) | (t[p + 2]! << 16) | (t[p + 3]! << 24)
      const h = Math.imul(v, HASH_MUL) >>> HASH_SHIFT
      filter[h >>> 5] = filter[h >>> 5]! | (1 << (h & 31))
      let list = table.get(v)
      if (list === undefined) table.set(v, list = [])
      list.push(r, p)
    }
  }

  function verify (buf: Uint8Array, i: number, r: number, p: number): CanaryRun | null {
    const ref = refs[r]!
    const t = ref.text
    const n = buf.length
    let s = i
    let q = p
    while (s > 0 && q > 0 && buf[s - 1] === t[q - 1]) { s--; q-- }
    let e = i + 4
    let qe = p + 4
    while (e < n && qe < t.length && buf[e] === t[qe]) { e++; qe++ }
    let lo = ref.bitOffset + q * ref.bitsPerChar
    let hi = ref.bitOffset + qe * ref.bitsPerChar
    if (q === 0 && ref.left !== null && s > 0) {
      const v = ref.alphabet![buf[s - 1]!]!
      if (v >= 0 && (v & ref.left.mask) === ref.left.value) { s--; lo = 0 }
    }
    if (qe === t.length && ref.right !== null && e < n) {
      const v = ref.alphabet![buf[e]!]!
      if (v >= 0 && (v & ref.right.mask) === ref.right.value) { e++; hi = ref.secretBits }
    }
    const secretStart = Math.ceil(lo / 8)
    const covered = Math.floor(hi / 8) - secretStart
    if (covered < ref.minBytes) return null
    return { canary: ref.canary, encoding: ref.encoding, start: s, end: e, secretStart, covered, full: covered * 8 === ref.secretBits }
  }

  /** Every run of a canary in `buf`, in the direct forms. One pass, sampling every STEP bytes. */
  function search (buf: Uint8Array, out: CanaryRun[]): void {
    const n = buf.length
    if (refs.length === 0 || n < 4) return
    const lastEnd = new Int32Array(refs.length)
    const found: Array<{ r: number, run: CanaryRun }> = []
    for (let i = 0; i + 4 <= n; i += STEP) {
      const v = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24)
      const h = Math.imul(v, HASH_MUL) >>> HASH_SHIFT
      if ((filter[h >>> 5]! & (1 << (h & 31))) === 0) continue
      const hits = table.get(v)
      if (hits === undefined) continue
      // A q-gram can sit at several places of one needle: try them all, keep the best per needle.
      found.length = 0
      for (let k = 0; k < hits.length; k += 2) {
        const r = hits[k]!
        if (i < lastEnd[r]!) continue
        const run = verify(buf, i, r, hits[k + 1]!)
        if (run === null) continue
        const prev = found.find(f => f.r === r)
        if (prev === undefined) found.push({ r, run })
        else if (run.covered > prev.run.covered) prev.run = run
      }
      for (const f of found) {
        lastEnd[f.r] = f.run.end
        out.push(f.run)
      }
    }
  }

  return {
    canaries,
    search,
    /** How many needles the index holds (for diagnostics and tests). */
    needles: refs.length
  }
}

export type CanaryIndex = ReturnType<typeof createCanaryIndex>
