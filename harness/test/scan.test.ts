// Acceptance of the leak scanner (issue 6, "secrets"): every planted canary is found, in every
// encoding and surrounding, whole or split over chunks; look-alikes raise (almost) no canary alarm.
// Keys follow contract 2.1 (`tnz_<tenant>_<43 base64url chars>`). Everything is generated from
// fixed seeds; fake secrets start with FAKE (house style).
import { describe, expect, it } from 'vitest'
import { createRandom } from '../../mock-server/src/domain/random.ts'
import { createLeakScanner, encodeLeak, LEAK_FORMS, MIN_RUN, type Finding, type LeakForm } from '../src/scan/index.ts'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
type Random = () => number

function pick<T> (random: Random, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!
}

function token (random: Random, n: number, alphabet = ALPHABET): string {
  let s = ''
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)]
  return s
}

function bytes (random: Random, n: number): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = Math.floor(random() * 256)
  return b
}

function fakeKey (random: Random, tenant: string): string {
  return `tnz_${tenant}_FAKE${token(random, 39)}`
}

function secretOf (key: string): string {
  return key.slice(key.lastIndexOf('_', key.length - 44) + 1)
}

const seeded = createRandom(20250621)
const CANARIES = [fakeKey(seeded, 'acme'), fakeKey(seeded, 'beta7'), fakeKey(seeded, '53ee34cc')]
const SECRETS = CANARIES.map(secretOf)
const scanner = createLeakScanner({ canaries: CANARIES })

/** Where a leak sits: the text around it, as a log, a URL, HTML, a header dump or binary junk. */
const SURROUNDINGS: Record<string, (random: Random, leak: string) => Buffer> = {
  json: (r, leak) => Buffer.from(`{"level":30,"time":1750000000000,"reqId":"req_${token(r, 26)}","req":{"headers":{"x-api-key":"${leak}"}},"msg":"incoming request"}\n`),
  log: (r, leak) => Buffer.from(`2025-06-21T10:00:00.000Z DEBUG client: retry ${Math.floor(r() * 9)} with key ${leak} after 250 ms\n`),
  url: (r, leak) => Buffer.from(`GET https://api.platform.tenzro.com/api/wallet/list?limit=20&api_key=${leak}&cursor=${token(r, 20)} HTTP/1.1\n`),
  html: (_r, leak) => Buffer.from(`<form><input type="hidden" name="apiKey" value="${leak}"><button>Go</button></form>\n`),
  headers: (_r, leak) => Buffer.from(`HTTP/1.1 401 Unauthorized\r\nX-Debug-Key: ${leak}\r\nContent-Type: application/json\r\n\r\n`),
  binary: (r, leak) => Buffer.concat([bytes(r, 50 + Math.floor(r() * 200)), Buffer.from(leak), bytes(r, 50 + Math.floor(r() * 200))])
}

const PARTIAL_FORMS = new Set<LeakForm>(['partial-raw', 'partial-url', 'partial-json', 'partial-hex', 'partial-base64'])
/** Wrapped base64 may break the key's encoding at a line end: it is found, not always whole. */
const MAYBE_PARTIAL = new Set<LeakForm>(['base64-mime', 'base64-pem'])

interface Plant {
  form: LeakForm
  surrounding: string
  canary: number
  text: Buffer
  start: number
  end: number
  leak: string
}

function plants (): Plant[] {
  const random = createRandom(6)
  const out: Plant[] = []
  const names = Object.keys(SURROUNDINGS)
  for (let round = 0; round < 12; round++) {
    for (const form of LEAK_FORMS) {
      const canary = (round + out.length) % CANARIES.length
      const surrounding = names[(round + LEAK_FORMS.indexOf(form)) % names.length]!
      const leak = encodeLeak(CANARIES[canary]!, form, random)
      const text = SURROUNDINGS[surrounding]!(random, leak)
      const start = text.indexOf(leak)
      out.push({ form, surrounding, canary, text, start, end: start + Buffer.byteLength(leak), leak })
    }
  }
  return out
}

const PLANTS = plants()

function canaryFindingsAt (findings: Finding[], p: Plant): Finding[] {
  return findings.filter(f => f.kind === 'canary' && f.canary === p.canary && f.offset < p.end && p.start < f.offset + f.length)
}

/** Every `size`-character window of `text`. */
function windows (text: string, size: number): string[] {
  const out: string[] = []
  for (let i = 0; i + size <= text.length; i++) out.push(text.slice(i, i + size))
  return out
}

function containsRun (text: string, secret: string, size = MIN_RUN): boolean {
  return windows(secret, size).some(w => text.includes(w))
}

describe('planted canaries', () => {
  it(`plants at least 200 canaries covering every form and surrounding`, () => {
    expect(PLANTS.length).toBeGreaterThanOrEqual(200)
    expect(new Set(PLANTS.map(p => p.form))).toEqual(new Set(LEAK_FORMS))
    expect(new Set(PLANTS.map(p => p.surrounding))).toEqual(new Set(Object.keys(SURROUNDINGS)))
    for (const p of PLANTS) expect(p.start).toBeGreaterThanOrEqual(0)
  })

  it('finds every planted canary, at the plant, for the right canary, whole unless only a part was planted', () => {
    const missed: string[] = []
    for (const p of PLANTS) {
      const found = canaryFindingsAt(scanner.scan(p.text, 'plant'), p)
      if (found.length === 0) { missed.push(`${p.form} in ${p.surrounding}`); continue }
      const best = found.reduce((a, b) => (a.covered >= b.covered ? a : b))
      if (PARTIAL_FORMS.has(p.form)) expect(best.covered, p.form).toBeGreaterThanOrEqual(MIN_RUN)
      else if (!MAYBE_PARTIAL.has(p.form)) expect(best.match, `${p.form} in ${p.surrounding}`).toBe('full')
    }
    expect(missed).toEqual([])
  })

  it('names the encoding it saw', () => {
    const expected: Partial<Record<LeakForm, RegExp>> = {
      raw: /^raw$/,
      url: /^url$/,
      'url-double': /^url\+url$/,
      'json-unicode': /^json$/,
      hex: /^hex$/,
      'hex-upper': /^hex$/,
      base64: /^base64(url)?$/,
      'partial-raw': /^raw$/,
      'partial-hex': /^hex$/
    }
    for (const p of PLANTS) {
      const want = expected[p.form]
      if (want === undefined) continue
      const found = canaryFindingsAt(scanner.scan(p.text, 'plant'), p)
      expect(found.map(f => f.encoding).join(','), p.form).toMatch(want)
    }
  })

  it('never shows a secret in a preview: no run of 8 secret characters and no 12 characters of the planted text', () => {
    for (const p of PLANTS) {
      for (const f of scanner.scan(p.text, 'plant')) {
        for (const secret of SECRETS) for (const w of windows(secret, 8)) expect(f.preview).not.toContain(w)
        const context = f.preview.replace(/«[^»]*»/, '«»') // the label shows the public `tnz_<tenant>_`
        for (const w of windows(p.leak, 12)) expect(context).not.toContain(w)
      }
    }
  })

  it('reports source, byte offset, line and column of the leak', () => {
    const key = CANARIES[1]!
    const text = `first line\nsecond ünïcödé line\n  {"key":"${key}"}\n`
    const [f, ...rest] = scanner.scan(text, 'logs/app.log')
    expect(rest).toEqual([])
    const offset = Buffer.from(text).indexOf(key)
    expect(f).toMatchObject({ kind: 'canary', id: 'canary:1', canary: 1, encoding: 'raw', match: 'full', covered: 43, source: 'logs/app.log', offset, length: key.length, line: 3, column: 11 })
    expect(f!.preview).toMatch(/^\.\.\.[\x20-\x7e]+ line\. {2}\{"key":"«tnz_beta7_\*{4}»"\}\.$/)
  })
})

describe('chunked input', () => {
  const document = Buffer.concat(PLANTS.flatMap(p => [p.text, Buffer.from('\n')]))
  const offsets: number[] = []
  let at = 0
  for (const p of PLANTS) { offsets.push(at); at += p.text.length + 1 }

  function key (f: Finding): string {
    return `${f.id}@${f.offset}+${f.length}:${f.encoding}:${f.match}:${f.line}:${f.column}`
  }

  it('finds the same leaks in random chunks as in one piece, including keys split across chunks', () => {
    const whole = scanner.scan(document, 'doc')
    const random = createRandom(99)
    const stream = scanner.createStreamScanner('doc', { overlapBytes: 2048, chunkBytes: 300 })
    const chunked: Finding[] = []
    let split = 0
    for (let p = 0; p < document.length;) {
      const n = 1 + Math.floor(random() * 700)
      if (PLANTS.some((pl, i) => offsets[i]! + pl.start < p + n && p + n < offsets[i]! + pl.end)) split++
      chunked.push(...stream.write(document.subarray(p, p + n)))
      p += n
    }
    chunked.push(...stream.end())
    expect(split).toBeGreaterThan(20)
    expect(chunked.map(key)).toEqual(whole.map(key))
    PLANTS.forEach((p, i) => {
      const shifted = { ...p, start: offsets[i]! + p.start, end: offsets[i]! + p.end }
      expect(canaryFindingsAt(chunked, shifted).length, `${p.form} in ${p.surrounding}`).toBeGreaterThan(0)
    })
  })

  it('finds a key split at any byte, once and whole, one byte per write', () => {
    const text = Buffer.from(`log: ${encodeLeak(CANARIES[0]!, 'url-partial', createRandom(3))} end\n`)
    for (let cut = 1; cut < text.length; cut++) {
      const s = scanner.createStreamScanner('cut', { overlapBytes: 512, chunkBytes: 1 })
      const found = [...s.write(text.subarray(0, cut)), ...s.write(text.subarray(cut)), ...s.end()]
      expect(found.map(f => `${f.id} ${f.offset} ${f.match}`), `cut at ${cut}`).toEqual(['canary:0 5 full'])
    }
  })

  it('counts lines across chunks', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => i === 4321 ? `leak ${CANARIES[2]}` : `line ${i} nothing to see`)
    const chunks = (async function * () {
      const all = Buffer.from(lines.join('\n'))
      for (let p = 0; p < all.length; p += 777) yield all.subarray(p, p + 777)
    })()
    const found = await scanner.scanStream(chunks, 'lines', { overlapBytes: 1024, chunkBytes: 4096 })
    expect(found.map(f => [f.id, f.line, f.column])).toEqual([['canary:2', 4322, 6]])
  })
})

describe('look-alikes', () => {
  // A false alarm is a canary finding on a string that holds neither a canary nor a run of
  // MIN_RUN (12) characters of a canary's secret, in any of the forms it was written in. A rule
  // finding on a well-formed `tnz_` key that is not a canary is not a false alarm: that is what
  // the rules are for.

  /** A canary whose secret is changed so that every window of 12 characters holds a change. */
  function nearMiss (random: Random, canary: number): string {
    const key = CANARIES[canary]!
    const secret = secretOf(key).split('')
    let p = Math.floor(random() * MIN_RUN)
    while (p < secret.length) {
      const old = secret[p]
      while (secret[p] === old) secret[p] = pick(random, ALPHABET.split(''))
      p += 1 + Math.floor(random() * MIN_RUN)
    }
    return key.slice(0, key.length - 43) + secret.join('')
  }

  /** A canary with 1 to 3 random changes: may or may not keep a run of 12. */
  function fewChanges (random: Random, canary: number): string {
    const key = CANARIES[canary]!.split('')
    const changes = 1 + Math.floor(random() * 3)
    for (let c = 0; c < changes; c++) {
      const p = key.length - 43 + Math.floor(random() * 43)
      const old = key[p]
      while (key[p] === old) key[p] = pick(random, ALPHABET.split(''))
    }
    return key.join('')
  }

  const PREFIXES = ['sk_live_', 'pk_test_', 'tnzx_acme_', 'tnz-acme-', 'TNZ_ACME_', 'tnz_ACME_', 'ghp_', 'xoxb-', 'tnz__']

  type Maker = (random: Random) => { raw: string, written: string, wellFormed: boolean }
  const MAKERS: Record<string, Maker> = {
    'other key, same tenant': r => { const k = `tnz_acme_${token(r, 43)}`; return { raw: k, written: k, wellFormed: true } },
    'other key, other tenant': r => { const k = `tnz_${token(r, 1 + Math.floor(r() * 12), 'abcdefghijklmnopqrstuvwxyz0123456789')}_${token(r, 43)}`; return { raw: k, written: k, wellFormed: true } },
    'other prefix': r => { const k = pick(r, PREFIXES) + token(r, 43); return { raw: k, written: k, wellFormed: false } },
    'random base64url': r => { const k = token(r, 43 + Math.floor(r() * 200)); return { raw: k, written: k, wellFormed: false } },
    'random base64': r => { const b = bytes(r, 32 + Math.floor(r() * 160)); return { raw: b.toString('latin1'), written: b.toString('base64'), wellFormed: false } },
    'random hex': r => { const k = token(r, 64, '0123456789abcdef'); return { raw: k, written: k, wellFormed: false } },
    'near miss': r => { const k = nearMiss(r, Math.floor(r() * 3)); return { raw: k, written: k, wellFormed: true } },
    'near miss, few changes': r => { const k = fewChanges(r, Math.floor(r() * 3)); return { raw: k, written: k, wellFormed: true } },
    'near miss, url-encoded': r => { const k = nearMiss(r, Math.floor(r() * 3)); return { raw: k, written: encodeLeak(k, pick(r, ['url', 'url-partial', 'url-double'] as const), r), wellFormed: true } },
    'near miss, json-escaped': r => { const k = nearMiss(r, Math.floor(r() * 3)); return { raw: k, written: encodeLeak(k, 'json-unicode', r), wellFormed: true } },
    'near miss, base64': r => { const k = nearMiss(r, Math.floor(r() * 3)); return { raw: k, written: encodeLeak(k, pick(r, ['base64', 'base64url', 'base64-nopad'] as const), r), wellFormed: true } },
    'near miss, hex': r => { const k = nearMiss(r, Math.floor(r() * 3)); return { raw: k, written: encodeLeak(k, pick(r, ['hex', 'hex-upper'] as const), r), wellFormed: true } },
    '11-character runs': r => {
      const s = SECRETS[Math.floor(r() * 3)]!
      const parts = Array.from({ length: 3 }, () => { const a = Math.floor(r() * (s.length - 11)); return s.slice(a, a + 11) })
      const k = parts.join(' ')
      return { raw: k, written: k, wellFormed: false }
    }
  }

  it('raises a canary alarm on at most 1 % of 10,000+ look-alikes, and reports partial leaks among them as partial', () => {
    const random = createRandom(4242)
    const names = Object.keys(SURROUNDINGS).filter(n => n !== 'binary')
    let lookalikes = 0
    let falseAlarms = 0
    let truePartials = 0
    let partialsFound = 0
    const perKind: Record<string, number> = {}
    for (const [kind, make] of Object.entries(MAKERS)) {
      perKind[kind] = 0
      for (let i = 0; i < 900; i++) {
        const { raw, written } = make(random)
        const text = SURROUNDINGS[pick(random, names)]!(random, written)
        const canaryFindings = scanner.scan(text, kind).filter(f => f.kind === 'canary')
        if (SECRETS.some(s => containsRun(raw, s))) {
          // Not a look-alike: it holds a real partial leak, which must be reported.
          truePartials++
          if (canaryFindings.length > 0) partialsFound++
          continue
        }
        lookalikes++
        if (canaryFindings.length > 0) { falseAlarms++; perKind[kind]!++ }
      }
    }
    expect(lookalikes).toBeGreaterThanOrEqual(10_000)
    expect(truePartials).toBeGreaterThan(50)
    expect(partialsFound).toBe(truePartials)
    expect(falseAlarms / lookalikes, JSON.stringify(perKind)).toBeLessThanOrEqual(0.01)
  })

  it('catches a well-formed key that is not a canary with the generic rule, and not a malformed one', () => {
    const random = createRandom(77)
    for (let i = 0; i < 300; i++) {
      const good = MAKERS[i % 2 === 0 ? 'other key, same tenant' : 'other key, other tenant']!(random)
      const found = scanner.scan(SURROUNDINGS.json!(random, good.written), 'x')
      expect(found.map(f => f.id)).toEqual(['rule:tenzro-api-key'])
      const bad = MAKERS['other prefix']!(random)
      expect(scanner.scan(SURROUNDINGS.log!(random, bad.written), 'x')).toEqual([])
    }
  })
})
