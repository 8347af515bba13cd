// The pattern rules of the leak scanner (harness/rules/leak-rules.json): any Tenzro key (contract
// 2.1) is caught, canary or not, in the encodings the decoders undo; the rules file is valid and
// documented. Keys are generated from fixed seeds at run time, never written down.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createRandom } from '../../mock-server/src/domain/random.ts'
import { createLeakScanner, DEFAULT_RULES_PATH, encodeLeak, loadRules, parseRules, shannonEntropy, type LeakForm } from '../src/scan/index.ts'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

function token (random: () => number, n: number): string {
  let s = ''
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(random() * 64)]
  return s
}

/** A random key whose secret does not start with FAKE, as a leaked real key would look. */
function otherKey (random: () => number, tenant = 'acme'): string {
  for (;;) {
    const secret = token(random, 43)
    if (!secret.startsWith('FAKE')) return `tnz_${tenant}_${secret}`
  }
}

const rulesOnly = createLeakScanner({ canaries: [] })

describe('the rules file', () => {
  it('gives every rule an id, a description, a regex and keywords, and the README documents each', () => {
    const file = JSON.parse(readFileSync(DEFAULT_RULES_PATH, 'utf8')) as { description: string, rules: Array<Record<string, unknown>> }
    const readme = readFileSync(new URL('../src/scan/README.md', import.meta.url), 'utf8')
    expect(file.description).toMatch(/README/)
    expect(file.rules.length).toBeGreaterThanOrEqual(2)
    for (const r of file.rules) {
      expect(r.id).toMatch(/^[a-z0-9-]+$/)
      expect(String(r.description).length).toBeGreaterThan(30)
      expect(() => new RegExp(String(r.regex))).not.toThrow()
      expect(r.keywords).toEqual(expect.arrayContaining([expect.any(String)]))
      expect(readme).toContain(`\`${String(r.id)}\``)
    }
    for (const field of ['id', 'description', 'regex', 'keywords', 'secretGroup', 'entropy', 'allowlist', 'window']) expect(readme).toContain(`\`${field}\``)
    expect(loadRules().map(r => r.id)).toEqual(rulesOnly.rules)
  })

  it('refuses a malformed rule and says which rule and why', () => {
    const ok = { id: 'x', description: 'a test rule', regex: 'x_[a-z]+', keywords: ['x_'] }
    expect(() => parseRules({ rules: [ok, { ...ok }] })).toThrow(/rules\[1\]: duplicate id "x"/)
    expect(() => parseRules([{ ...ok, id: 'Bad Id' }])).toThrow(/kebab-case/)
    expect(() => parseRules([{ ...ok, regex: '(' }])).toThrow(/rules\[0\] \(x\): Invalid regular expression/)
    expect(() => parseRules([{ ...ok, keywords: 'x_' }])).toThrow(/"keywords" must be an array/)
    expect(() => parseRules([{ ...ok, description: '' }])).toThrow(/"description" is required/)
    expect(() => parseRules([{ ...ok, secretGroup: 'nope' }])).toThrow(/secretGroup "nope" is not a named group/)
    expect(() => parseRules([{ ...ok, flags: 'y' }])).toThrow(/flag "y" is not supported/)
    expect(() => parseRules({ nope: [] })).toThrow(/expected \{"rules": \[...\]\}/)
  })
})

describe('tenzro-api-key', () => {
  const FORMS: Array<[LeakForm, RegExp]> = [
    ['raw', /^raw$/],
    ['url', /^url$/],
    ['url-lower', /^url$/],
    ['url-partial', /^url$/],
    ['url-double', /^url\+url$/],
    ['json-unicode', /^json$/],
    ['base64', /^base64(url)?$/],
    ['base64-nopad', /^base64(url)?$/],
    ['base64url', /^base64(url)?$/],
    ['url-base64', /^(url\+)?base64$/],
    ['hex', /^hex$/],
    ['hex-upper', /^hex$/]
  ]

  it.each(FORMS)('finds a key that is not a canary written as %s', (form, encoding) => {
    const random = createRandom(form.length * 7919)
    for (let i = 0; i < 20; i++) {
      const key = otherKey(random, i % 2 === 0 ? 'acme' : '53ee34cc')
      const text = `{"msg":"outgoing","headers":{"authorization":"Bearer ${encodeLeak(key, form, random)}"}}`
      const found = rulesOnly.scan(text, 'x')
      expect(found.map(f => f.id), `${form} #${i}`).toEqual(['rule:tenzro-api-key'])
      expect(found[0]!.encoding).toMatch(encoding)
      expect(found[0]!.preview).not.toContain(key.slice(-43, -31))
    }
  })

  it('finds a key inside a larger base64 blob at each byte alignment (Basic auth, JSON)', () => {
    const random = createRandom(11)
    for (const prefix of ['user:', 'user1:', 'user12:', '{"apiKey":"', '{"apiKey": "', '{"apiKey":  "']) {
      const key = otherKey(random)
      const blob = Buffer.from(`${prefix}${key}${prefix.startsWith('{') ? '"}' : ''}`).toString('base64')
      const found = rulesOnly.scan(`Authorization: Basic ${blob}\n`, 'x')
      expect(found.map(f => [f.id, f.encoding]), prefix).toEqual([['rule:tenzro-api-key', 'base64']])
    }
  })

  it('reports a key with one encoded character once, as the whole key, not also as a fragment', () => {
    const key = otherKey(createRandom(13))
    const at = key.length - 20
    const text = `GET /?k=${key.slice(0, at)}%${key.charCodeAt(at).toString(16).toUpperCase()}${key.slice(at + 1)}&x=1`
    expect(rulesOnly.scan(text, 'x').map(f => [f.id, f.encoding, f.offset, f.length])).toEqual([['rule:tenzro-api-key', 'url', 8, key.length + 2]])
  })

  it('shows the tenant and masks the secret in the preview', () => {
    const key = otherKey(createRandom(1), 'mycompany')
    const [f] = rulesOnly.scan(`X-API-Key: ${key}\n`, 'headers.txt')
    expect(f).toMatchObject({ kind: 'rule', rule: 'tenzro-api-key', encoding: 'raw', match: 'full', offset: 11, length: key.length, line: 1, column: 12 })
    expect(f!.preview).toBe('X-API-Key: «tnz_mycompany_****».')
  })

  it('leaves a canary to the canary finding instead of reporting it twice', () => {
    const key = otherKey(createRandom(2))
    const scanner = createLeakScanner({ canaries: [key] })
    expect(scanner.scan(`key=${key}`, 'x').map(f => f.id)).toEqual(['canary:0'])
    expect(scanner.scan(`key=${otherKey(createRandom(3))}`, 'x').map(f => f.id)).toEqual(['rule:tenzro-api-key'])
  })

  it('skips fixture keys (secret starting with FAKE) and low-entropy placeholders', () => {
    const random = createRandom(4)
    expect(rulesOnly.scan(`tnz_acme_FAKE${token(random, 39)}`, 'x')).toEqual([])
    expect(rulesOnly.scan(`tnz_acme_${'x'.repeat(43)}`, 'x')).toEqual([])
    expect(rulesOnly.scan(`tnz_acme_${'abcdef'.repeat(7)}a`, 'x')).toEqual([])
  })

  it('reports each of thousands of adjacent keys once and whole', () => {
    const random = createRandom(12)
    const keys = Array.from({ length: 3000 }, () => otherKey(random))
    const found = rulesOnly.scan(keys.join('\n'), 'x')
    expect(found.length).toBe(3000)
    expect(new Set(found.map(f => f.id))).toEqual(new Set(['rule:tenzro-api-key']))
    expect(found.map(f => f.line)).toEqual(keys.map((_, i) => i + 1))
  })

  it('ignores malformed keys: uppercase tenant, wrong length, glued to more key characters', () => {
    const s = token(createRandom(5), 44)
    for (const text of [`tnz_ACME_${s.slice(0, 43)}`, `tnz_acme_${s}`, `xtnz_acme_${s.slice(0, 43)}`, `tnz_${'a'.repeat(33)}_${s.slice(0, 43)}`]) {
      expect(rulesOnly.scan(text, 'x').filter(f => f.rule === 'tenzro-api-key'), text.slice(0, 12)).toEqual([])
    }
  })
})

describe('tenzro-api-key-fragment', () => {
  it('finds a key cut short, but not the 12-character prefix that contract 2.7 allows in logs', () => {
    const key = otherKey(createRandom(6), '53ee34cc')
    expect(rulesOnly.scan(`key ${key.slice(0, 30)}... rejected`, 'x').map(f => f.id)).toEqual(['rule:tenzro-api-key-fragment'])
    expect(rulesOnly.scan(`auth failed, key prefix ${key.slice(0, 12)}, tenant 53ee34cc`, 'x')).toEqual([])
    const short = otherKey(createRandom(7), 'acme')
    expect(rulesOnly.scan(`prefix=${short.slice(0, 12)}`, 'x')).toEqual([])
  })
})

describe('custom rules', () => {
  it('runs the rules it is given, with flags, several keywords and stopwords, and none when given []', () => {
    const rules = parseRules([{
      id: 'admin-token',
      description: 'An admin token of the mock control API, in any case.',
      regex: 'adm_(?<secret>[0-9a-f]{32})',
      flags: 'i',
      keywords: ['adm_', 'ADM_'],
      secretGroup: 'secret',
      allowlist: { stopwords: ['deadbeef'] }
    }])
    const scanner = createLeakScanner({ canaries: [], rules })
    const hexes = ['0123456789abcdef0123456789abcdef', 'deadbeefdeadbeefdeadbeefdeadbeef']
    const text = `a adm_${hexes[0]} b ADM_${hexes[0]!.toUpperCase()} c adm_${hexes[1]}`
    expect(scanner.scan(text, 'x').map(f => [f.rule, f.offset, f.preview.includes('«adm_****»') || f.preview.includes('«ADM_****»')])).toEqual([
      ['admin-token', 2, true],
      ['admin-token', 41, true]
    ])
    expect(createLeakScanner({ canaries: [], rules: [] }).scan(text + otherKey(createRandom(8)), 'x')).toEqual([])
  })

  it('runs a rule without keywords over the whole input', () => {
    const rules = parseRules([{ id: 'long-digits', description: 'Twenty digits in a row, anywhere.', regex: '\\d{20}', keywords: [] }])
    const found = createLeakScanner({ canaries: [], rules }).scan('x 12345678901234567890 y', 'x')
    expect(found.map(f => [f.id, f.offset, f.preview])).toEqual([['rule:long-digits', 2, 'x «****» y']])
  })
})

describe('shannonEntropy', () => {
  it('is 0 for one repeated character and log2(n) for n distinct ones', () => {
    expect(shannonEntropy('')).toBe(0)
    expect(shannonEntropy('aaaa')).toBe(0)
    expect(shannonEntropy('abcd')).toBe(2)
    expect(shannonEntropy(token(createRandom(9), 43))).toBeGreaterThan(4.5)
  })
})
