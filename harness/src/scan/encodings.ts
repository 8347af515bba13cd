// The ways a key leaks, as text to plant: the scanner's own tests use them, and so can any check
// that must prove its leak search would have caught a leak (house style principle 6: keep a test
// that turns redaction off and proves the search catches it).
import { KEY_FORMAT } from './canary-index.ts'

export const LEAK_FORMS = [
  'raw', // the key as is
  'url', // every byte as %XX, upper-case hex
  'url-lower', // every byte as %xx
  'url-partial', // `_` and `-` always, other characters at random, as %XX or %xx
  'url-double', // percent-encoded twice (%255F)
  'url-base64', // encodeURIComponent of standard base64
  'json-unicode', // `_` and `-` always, other characters at random, as \u00XX
  'json-base64', // standard base64 with `/` escaped as `\/` (PHP json_encode)
  'base64',
  'base64-nopad',
  'base64url',
  'base64-embedded', // inside a larger base64 blob, at a random byte alignment
  'base64-mime', // inside a larger blob, wrapped at 76 columns with CRLF (RFC 2045)
  'base64-pem', // inside a larger blob, wrapped at 64 columns with LF (RFC 7468)
  'hex',
  'hex-upper',
  'partial-raw', // 12 characters of the secret
  'partial-url', // 12 characters of the secret, every byte as %XX
  'partial-json', // 12 characters of the secret, every byte as \u00XX
  'partial-hex', // 12 characters of the secret in hex
  'partial-base64' // 14 characters of the secret inside a base64 blob (12 whole ones survive any alignment)
] as const

export type LeakForm = typeof LEAK_FORMS[number]

function pick (random: () => number, n: number): number {
  return Math.floor(random() * n)
}

function junk (random: () => number, min: number, max: number): Buffer {
  const b = Buffer.alloc(min + pick(random, max - min + 1))
  for (let i = 0; i < b.length; i++) b[i] = pick(random, 256)
  return b
}

function hex2 (byte: number, upper: boolean): string {
  const h = byte.toString(16).padStart(2, '0')
  return upper ? h.toUpperCase() : h
}

function percent (text: string, encode: (ch: string) => boolean, random: () => number, upper?: boolean): string {
  let out = ''
  for (const ch of text) out += encode(ch) ? '%' + hex2(ch.charCodeAt(0), upper ?? random() < 0.5) : ch
  return out
}

function wrap (text: string, width: number, eol: string): string {
  const lines: string[] = []
  for (let i = 0; i < text.length; i += width) lines.push(text.slice(i, i + width))
  return lines.join(eol)
}

function secretOf (key: string): string {
  return KEY_FORMAT.exec(key)?.[2] ?? key
}

function window (random: () => number, secret: string, length: number): string {
  const at = pick(random, secret.length - length + 1)
  return secret.slice(at, at + length)
}

/** `key` written in `form`. Deterministic for a seeded `random`. */
export function encodeLeak (key: string, form: LeakForm, random: () => number = Math.random): string {
  const bytes = Buffer.from(key, 'utf8')
  const embedded = (min: number, max: number, inner: Buffer = bytes) => Buffer.concat([junk(random, min, max), inner, junk(random, min, max)]).toString('base64')
  switch (form) {
    case 'raw': return key
    case 'url': return percent(key, () => true, random, true)
    case 'url-lower': return percent(key, () => true, random, false)
    case 'url-partial': return percent(key, ch => ch === '_' || ch === '-' || random() < 0.3, random)
    case 'url-double': return percent(key, () => true, random, true).replaceAll('%', '%25')
    case 'url-base64': return encodeURIComponent(bytes.toString('base64'))
    case 'json-unicode': {
      let out = ''
      for (const ch of key) out += ch === '_' || ch === '-' || random() < 0.3 ? '\\u00' + hex2(ch.charCodeAt(0), random() < 0.5) : ch
      return out
    }
    case 'json-base64': return embedded(0, 2).replaceAll('/', '\\/')
    case 'base64': return bytes.toString('base64')
    case 'base64-nopad': return bytes.toString('base64').replace(/=+$/, '')
    case 'base64url': return bytes.toString('base64url')
    case 'base64-embedded': return embedded(0, 8)
    case 'base64-mime': return wrap(embedded(20, 60), 76, '\r\n')
    case 'base64-pem': return wrap(embedded(20, 60), 64, '\n')
    case 'hex': return bytes.toString('hex')
    case 'hex-upper': return bytes.toString('hex').toUpperCase()
    case 'partial-raw': return window(random, secretOf(key), 12)
    case 'partial-url': return percent(window(random, secretOf(key), 12), () => true, random)
    case 'partial-json': {
      let out = ''
      for (const ch of window(random, secretOf(key), 12)) out += '\\u00' + hex2(ch.charCodeAt(0), false)
      return out
    }
    case 'partial-hex': return Buffer.from(window(random, secretOf(key), 12), 'latin1').toString('hex')
    case 'partial-base64': return embedded(0, 6, Buffer.from(window(random, secretOf(key), 14), 'latin1'))
  }
}
