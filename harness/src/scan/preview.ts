// Redacted previews (house style principle 6, "secrets never leave"): the preview of a finding
// shows where the leak sits, never what leaked. The whole token around the match is replaced by a
// label, and any other long token in the context is masked too, because a near-miss or a second
// key beside the first one would otherwise be printed.

const CONTEXT = 32
/** Tokens of at least this many characters are masked even when nothing was found in them. */
const LONG_TOKEN = 16
const TOKEN_LIMIT = 4096

const TOKEN = new Uint8Array(256)
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-%\\') TOKEN[ch.charCodeAt(0)] = 1

function printable (buf: Uint8Array, a: number, b: number): string {
  let s = ''
  for (let i = a; i < b; i++) {
    const c = buf[i]!
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.'
  }
  return s
}

/** Spans of other findings: a token that touches one is masked, however short. */
export type Spans = ReadonlyArray<readonly [number, number]>

/** The spans (sorted by start) that overlap [a, b), found by binary search: previews of many findings stay linear. */
export function spanLookup (spans: Spans): (a: number, b: number) => Spans {
  let longest = 0
  for (const [s, e] of spans) longest = Math.max(longest, e - s)
  return (a, b) => {
    let lo = 0
    let hi = spans.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (spans[mid]![0] < a - longest) lo = mid + 1
      else hi = mid
    }
    const out: Array<readonly [number, number]> = []
    for (let i = lo; i < spans.length && spans[i]![0] < b; i++) if (spans[i]![1] > a) out.push(spans[i]!)
    return out
  }
}

function touches (spans: Spans, s: number, e: number): boolean {
  for (const [a, b] of spans) if (a < e && s < b) return true
  return false
}

/** Text of buf[a, b) with every token of LONG_TOKEN or more characters (counted in all of buf) masked. */
function masked (buf: Uint8Array, a: number, b: number, spans: Spans): string {
  let out = ''
  let i = a
  while (i < b) {
    if (TOKEN[buf[i]!] === 0) {
      let j = i
      while (j < b && TOKEN[buf[j]!] === 0) j++
      out += printable(buf, i, j)
      i = j
      continue
    }
    let j = i
    while (j < b && TOKEN[buf[j]!] === 1) j++
    let s = i
    let e = j
    while (s > 0 && a - s < LONG_TOKEN && TOKEN[buf[s - 1]!] === 1) s--
    while (e < buf.length && e - b < LONG_TOKEN && TOKEN[buf[e]!] === 1) e++
    out += e - s >= LONG_TOKEN || touches(spans, i, j) ? '****' : printable(buf, i, j)
    i = j
  }
  return out
}

export function sanitizeLabel (label: string): string {
  const clean = label.replace(/[^\x20-\x7e]/g, '.')
  return clean.length > 64 ? clean.slice(0, 61) + '...' : clean
}

/**
 * `...context«label»context...`, with the token holding buf[start, end) replaced by the label.
 * `wrapped`: the token may go on over line breaks (base64 wrapped at 64 or 76 columns).
 */
export function redactedPreview (buf: Uint8Array, start: number, end: number, label: string, others: (a: number, b: number) => Spans = () => [], wrapped = false): string {
  const inToken = (i: number) => TOKEN[buf[i]!] === 1 || (wrapped && (buf[i] === 0x0a || buf[i] === 0x0d))
  let s = start
  while (s > 0 && start - s < TOKEN_LIMIT && inToken(s - 1)) s--
  let e = end
  while (e < buf.length && e - end < TOKEN_LIMIT && inToken(e)) e++
  // A wrapped blob (MIME, PEM) goes on past the line break; the break after its last line does not.
  while (wrapped && e > end && (buf[e - 1] === 0x0a || buf[e - 1] === 0x0d)) e--
  while (wrapped && s < start && (buf[s] === 0x0a || buf[s] === 0x0d)) s++
  const a = Math.max(0, s - CONTEXT)
  const b = Math.min(buf.length, e + CONTEXT)
  const near = others(a, b)
  return (a > 0 ? '...' : '') + masked(buf, a, s, near) + '«' + sanitizeLabel(label) + '»' + masked(buf, e, b, near) + (b < buf.length ? '...' : '')
}
