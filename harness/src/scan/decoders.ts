// Wrapped forms of a key that no fixed needle can match: URL encoding (any subset of characters as
// %XX, either case, possibly twice), JSON/JS escapes (\u005f, \x5f, \/), and base64 or hex blobs
// that carry a whole key (found by the encodings of `tnz_`, contract 2.1). Each decoder finds its
// trigger with Buffer.indexOf, decodes only the token around it, and keeps a map from every
// decoded byte back to the bytes it came from, so findings point into the original input.
import { forEachMatch, type Histogram } from './needle.ts'

export type DecoderName = 'url' | 'json' | 'base64' | 'base64url' | 'hex'

export interface DecodedToken {
  name: DecoderName
  bytes: Buffer
  /** Where the source of decoded byte k starts in the parent buffer. */
  starts: Int32Array
  /** Just after the source of decoded byte k in the parent buffer. */
  ends: Int32Array
}

/** A decoded token shorter than this cannot hold a reportable run (canary-index.ts MIN_RUN). */
const MIN_DECODED = 12
/** A base64 or hex blob is decoded this far past `tnz_`: a key is at most 80 bytes. */
const BLOB_CHARS = 512

const KEY = 1 // [A-Za-z0-9_-]: the secret's alphabet (contract 2.1)
const B64 = 2 // + / = as well: standard base64
const URL_TOKEN = 4 // what can sit inside one URL-encoded token
const ESC_TOKEN = 8 // ... or inside one escaped JSON string run

const CLASS = new Uint8Array(256)
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c)
  let k = 0
  if (/[A-Za-z0-9_-]/.test(ch)) k |= KEY | URL_TOKEN | ESC_TOKEN
  if (/[+/=]/.test(ch)) k |= B64 | URL_TOKEN | ESC_TOKEN
  if (/[%.~]/.test(ch)) k |= URL_TOKEN | ESC_TOKEN
  if (ch === '\\') k |= ESC_TOKEN
  CLASS[c] = k
}

/** A decoded byte that can change what the canary or rule search sees. */
function matters (b: number): boolean {
  return (CLASS[b]! & (KEY | B64)) !== 0 || b === 0x25
}

const HEX_VALUE = new Int8Array(256).fill(-1)
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c)
  if (/[0-9A-Fa-f]/.test(ch)) HEX_VALUE[c] = parseInt(ch, 16)
}

function hexValue (b: number): number {
  return HEX_VALUE[b]!
}

function isHexAt (buf: Uint8Array, i: number, count: number): boolean {
  if (i + count > buf.length) return false
  for (let k = 0; k < count; k++) if (HEX_VALUE[buf[i + k]!]! < 0) return false
  return true
}

/** The byte of `%XX` at i, or -1. */
function percentAt (buf: Uint8Array, i: number): number {
  if (buf[i] !== 0x25 || i + 2 >= buf.length) return -1
  const hi = HEX_VALUE[buf[i + 1]!]!
  const lo = HEX_VALUE[buf[i + 2]!]!
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo
}

function expand (buf: Uint8Array, pos: number, cls: number): [number, number] {
  let a = pos
  while (a > 0 && (CLASS[buf[a - 1]!]! & cls) !== 0) a--
  let b = pos + 1
  while (b < buf.length && (CLASS[buf[b]!]! & cls) !== 0) b++
  return [a, b]
}

interface Writer {
  bytes: Buffer
  starts: Int32Array
  ends: Int32Array
  n: number
}

function writer (capacity: number): Writer {
  return { bytes: Buffer.allocUnsafe(capacity), starts: new Int32Array(capacity), ends: new Int32Array(capacity), n: 0 }
}

function put (w: Writer, byte: number, start: number, end: number): void {
  w.bytes[w.n] = byte
  w.starts[w.n] = start
  w.ends[w.n] = end
  w.n++
}

function finish (name: DecoderName, w: Writer): DecodedToken {
  return { name, bytes: w.bytes.subarray(0, w.n), starts: w.starts.subarray(0, w.n), ends: w.ends.subarray(0, w.n) }
}

// RFC 3986 2.1: a percent-encoded octet is "%" HEXDIG HEXDIG, either case. `+` is left alone: a
// key has no spaces, and standard base64 inside a query keeps its `+` when it is not encoded.
function decodePercentToken (buf: Uint8Array, a: number, b: number): DecodedToken | null {
  let escapes = 0
  let useful = false
  for (let i = buf.indexOf(0x25, a); i !== -1 && i < b; i = buf.indexOf(0x25, i + 1)) {
    const v = percentAt(buf, i)
    if (v < 0) continue
    escapes++
    if (!useful && matters(v)) useful = true
    i += 2
  }
  if (!useful || b - a - 2 * escapes < MIN_DECODED) return null
  const w = writer(b - a - 2 * escapes)
  for (let i = a; i < b; i++) {
    const v = buf[i] === 0x25 ? percentAt(buf, i) : -1
    if (v >= 0) {
      put(w, v, i, i + 3)
      i += 2
    } else {
      put(w, buf[i]!, i, i + 1)
    }
  }
  return finish('url', w)
}

/** Length of the escape at i (RFC 8259 7 `\uXXXX`, `\/`, `\\`; JavaScript `\xHH`), or 0. */
function escapeAt (buf: Uint8Array, i: number): number {
  if (buf[i] !== 0x5c || i + 1 >= buf.length) return 0
  const c = buf[i + 1]
  if (c === 0x75) return isHexAt(buf, i + 2, 4) ? 6 : 0 // \uXXXX
  if (c === 0x78) return isHexAt(buf, i + 2, 2) ? 4 : 0 // \xHH
  if (c === 0x2f || c === 0x5c) return 2 // \/ and \\
  return 0
}

function escapeValue (buf: Uint8Array, i: number, len: number): number {
  if (len === 2) return buf[i + 1]!
  let v = 0
  for (let k = 2; k < len; k++) v = v * 16 + hexValue(buf[i + k]!)
  return v > 0xff ? 0x3f : v // a code unit past Latin-1 cannot be part of a key: `?`
}

function decodeEscapeToken (buf: Uint8Array, a: number, b: number): DecodedToken | null {
  let saved = 0
  let useful = false
  for (let i = a; i < b; i++) {
    const len = escapeAt(buf, i)
    if (len === 0) continue
    saved += len - 1
    if (buf[i + 1] !== 0x5c && matters(escapeValue(buf, i, len))) useful = true
    i += len - 1
  }
  if (!useful || b - a - saved < MIN_DECODED) return null
  const w = writer(b - a - saved)
  for (let i = a; i < b; i++) {
    const len = escapeAt(buf, i)
    if (len === 0) {
      put(w, buf[i]!, i, i + 1)
    } else {
      put(w, escapeValue(buf, i, len), i, i + len)
      i += len - 1
    }
  }
  return finish('json', w)
}

const B64_VALUE = new Int8Array(256).fill(-1)
{
  const std = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  for (let i = 0; i < 64; i++) B64_VALUE[std.charCodeAt(i)] = i
  B64_VALUE[0x2d] = 62 // - (base64url, RFC 4648 5)
  B64_VALUE[0x5f] = 63 // _
}

interface Trigger {
  needle: Buffer
  /** Characters from the needle's start back to where decoding must begin. */
  back: number
  /** Bytes decoded before the keyword: dropped, so the keyword starts the decoded token. */
  pad: number
}

/** The stable base64 characters of `text` behind 0, 1 or 2 bytes, in both alphabets. */
function base64Triggers (text: string): Trigger[] {
  const out = new Map<string, Trigger>()
  for (const enc of ['base64', 'base64url'] as const) {
    for (let a = 0; a < 3; a++) {
      const padded = Buffer.concat([Buffer.alloc(a), Buffer.from(text, 'latin1')])
      const full = padded.toString(enc)
      const i0 = Math.ceil(8 * a / 6)
      const needle = full.slice(i0, Math.floor(padded.length * 8 / 6))
      out.set(needle, { needle: Buffer.from(needle, 'latin1'), back: i0, pad: a })
    }
  }
  return [...out.values()]
}

// Decoding starts `back` characters before the needle: at that point the bits run so that the
// keyword starts on a byte boundary, whatever the blob's own group boundaries are. Line breaks
// inside the blob (MIME, PEM) are skipped.
function decodeBase64From (buf: Uint8Array, q: number, pad: number): DecodedToken | null {
  const w = writer(Math.ceil(BLOB_CHARS * 3 / 4))
  let acc = 0
  let bits = 0
  let byteStart = -1
  let url = false
  let i = q
  let chars = 0
  while (i < buf.length && chars < BLOB_CHARS) {
    const c = buf[i]!
    if (c === 0x0d || c === 0x0a) {
      let j = i
      while (j < buf.length && (buf[j] === 0x0d || buf[j] === 0x0a)) j++
      if (j < buf.length && B64_VALUE[buf[j]!]! >= 0) { i = j; continue }
      break
    }
    const v = B64_VALUE[c]!
    if (v < 0) break
    if (c === 0x2d || c === 0x5f) url = true
    if (byteStart < 0) byteStart = i
    acc = ((acc << 6) | v) & 0xfff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      put(w, (acc >> bits) & 0xff, byteStart, i + 1)
      byteStart = bits > 0 ? i : -1
    }
    i++
    chars++
  }
  if (w.n - pad < MIN_DECODED) return null
  const t = finish(url ? 'base64url' : 'base64', w)
  // The bytes before the keyword belong to whatever precedes it in the blob: a rule that wants a
  // boundary before `tnz_` must not see them.
  return { ...t, bytes: t.bytes.subarray(pad), starts: t.starts.subarray(pad), ends: t.ends.subarray(pad) }
}

function decodeHexFrom (buf: Uint8Array, p: number): DecodedToken | null {
  const w = writer(BLOB_CHARS / 2)
  for (let i = p; i + 1 < buf.length && w.n < BLOB_CHARS / 2; i += 2) {
    const hi = hexValue(buf[i]!)
    const lo = hexValue(buf[i + 1]!)
    if (hi < 0 || lo < 0) break
    put(w, hi * 16 + lo, i, i + 2)
  }
  return w.n < MIN_DECODED ? null : finish('hex', w)
}

export function createDecoders (keyword: string) {
  const b64 = base64Triggers(keyword)
  const hexLower = Buffer.from(Buffer.from(keyword, 'latin1').toString('hex'), 'latin1')
  const hexNeedles = [hexLower, Buffer.from(hexLower.toString('latin1').toUpperCase(), 'latin1')]

  /** Every token of `buf` whose decoding could show a canary or a rule match. */
  function decode (buf: Buffer, out: DecodedToken[], hist: Histogram = null): void {
    let done = 0
    for (let p = buf.indexOf(0x25); p !== -1; p = buf.indexOf(0x25, Math.max(p + 1, done))) {
      if (p < done) continue
      const [a, b] = expand(buf, p, URL_TOKEN)
      done = b
      const t = decodePercentToken(buf, a, b)
      if (t !== null) out.push(t)
    }
    done = 0
    for (let p = buf.indexOf(0x5c); p !== -1; p = buf.indexOf(0x5c, Math.max(p + 1, done))) {
      if (p < done || escapeAt(buf, p) === 0 || buf[p + 1] === 0x5c) continue
      const [a, b] = expand(buf, p, ESC_TOKEN)
      done = b
      const t = decodeEscapeToken(buf, a, b)
      if (t !== null) out.push(t)
    }
    for (const { needle, back, pad } of b64) {
      forEachMatch(buf, needle, hist, p => {
        if (p < back) return p + 1
        const t = decodeBase64From(buf, p - back, pad)
        if (t === null) return p + 1
        out.push(t)
        return t.ends[t.ends.length - 1]!
      })
    }
    for (const needle of hexNeedles) {
      forEachMatch(buf, needle, hist, p => {
        const t = decodeHexFrom(buf, p)
        if (t === null) return p + 1
        out.push(t)
        return t.ends[t.ends.length - 1]!
      })
    }
  }

  return { decode }
}

export type Decoders = ReturnType<typeof createDecoders>
