// Pattern rules in the manner of gitleaks: an id, a description, a regex, and keywords that must
// occur before the regex runs at all. The default set lives in harness/rules/leak-rules.json and
// README.md in this folder documents every field.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { forEachMatch, type Histogram } from './needle.ts'

export interface LeakRule {
  id: string
  description: string
  /** JavaScript regular expression source. */
  regex: string
  /** Extra flags (`i`, `s`, `u`); `g` and `d` are always added. */
  flags?: string
  /** Case-sensitive substrings; the regex runs only near them. Empty: run over everything. */
  keywords: string[]
  /** Capture group (number or name) that holds the secret: it is masked in previews. Default 0. */
  secretGroup?: number | string
  /** Minimum Shannon entropy (bits per character) of the secret group, to skip placeholders. */
  entropy?: number
  allowlist?: {
    description?: string
    /** A match whose secret group matches one of these is not reported. */
    regexes?: string[]
    /** ... nor one whose secret group contains one of these (case-insensitive). */
    stopwords?: string[]
  }
  /** How far before and after a keyword hit a match may reach. Default {before: 64, after: 256}. */
  window?: { before?: number, after?: number }
}

export interface RuleMatch {
  rule: string
  start: number
  end: number
  secretStart: number
  secretEnd: number
  /** The match with the secret group replaced by `****`. */
  label: string
}

export const DEFAULT_RULES_PATH = fileURLToPath(new URL('../../rules/leak-rules.json', import.meta.url))

export function parseRules (input: unknown, where = 'rules'): LeakRule[] {
  const list = Array.isArray(input) ? input : (input as { rules?: unknown } | null)?.rules
  if (!Array.isArray(list)) throw new TypeError(`${where}: expected {"rules": [...]} or an array of rules`)
  const ids = new Set<string>()
  return list.map((raw, i) => {
    const r = raw as Partial<LeakRule> | null
    const at = `${where}[${i}]`
    if (r === null || typeof r !== 'object') throw new TypeError(`${at}: a rule is an object`)
    if (typeof r.id !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(r.id)) throw new TypeError(`${at}: "id" must be kebab-case, got ${JSON.stringify(r.id)}`)
    if (ids.has(r.id)) throw new TypeError(`${at}: duplicate id "${r.id}"`)
    ids.add(r.id)
    if (typeof r.description !== 'string' || r.description === '') throw new TypeError(`${at} (${r.id}): "description" is required`)
    if (typeof r.regex !== 'string') throw new TypeError(`${at} (${r.id}): "regex" must be a string`)
    if (!Array.isArray(r.keywords) || r.keywords.some(k => typeof k !== 'string' || k === '')) {
      throw new TypeError(`${at} (${r.id}): "keywords" must be an array of non-empty strings ([] runs the regex everywhere)`)
    }
    try {
      compileRule(r as LeakRule)
    } catch (err) {
      throw new TypeError(`${at} (${r.id}): ${(err as Error).message}`, { cause: err })
    }
    return r as LeakRule
  })
}

export function loadRules (path: string = DEFAULT_RULES_PATH): LeakRule[] {
  return parseRules(JSON.parse(readFileSync(path, 'utf8')), path)
}

let defaults: LeakRule[] | undefined

export function defaultRules (): LeakRule[] {
  defaults ??= loadRules()
  return defaults
}

const counts = new Uint32Array(65536)

/** Shannon entropy of the UTF-16 code units of `text`, in bits per unit. */
export function shannonEntropy (text: string): number {
  const n = text.length
  if (n === 0) return 0
  for (let i = 0; i < n; i++) counts[text.charCodeAt(i)]!++
  let h = 0
  for (let i = 0; i < n; i++) {
    const c = counts[text.charCodeAt(i)]!
    if (c === 0) continue
    const p = c / n
    h -= p * Math.log2(p)
    counts[text.charCodeAt(i)] = 0
  }
  return h
}

interface CompiledRule {
  id: string
  re: RegExp
  keywords: Buffer[]
  secretGroup: number | string
  entropy: number
  allow: RegExp[]
  stopwords: string[]
  before: number
  after: number
}

function compileRule (r: LeakRule): CompiledRule {
  const flags = new Set(['g', 'd', ...(r.flags ?? '')])
  for (const f of flags) if (!'gdisum'.includes(f)) throw new Error(`flag "${f}" is not supported (use i, s, u, m)`)
  const re = new RegExp(r.regex, [...flags].join(''))
  const secretGroup = r.secretGroup ?? 0
  if (typeof secretGroup === 'string' && !r.regex.includes(`(?<${secretGroup}>`)) throw new Error(`secretGroup "${secretGroup}" is not a named group of the regex`)
  return {
    id: r.id,
    re,
    keywords: r.keywords.map(k => Buffer.from(k, 'utf8')),
    secretGroup,
    entropy: r.entropy ?? 0,
    allow: (r.allowlist?.regexes ?? []).map(s => new RegExp(s)),
    stopwords: (r.allowlist?.stopwords ?? []).map(s => s.toLowerCase()),
    before: r.window?.before ?? 64,
    after: r.window?.after ?? 256
  }
}

function groupSpan (m: RegExpExecArray, group: number | string): [number, number] | undefined {
  const indices = m.indices
  if (indices === undefined) return undefined
  return typeof group === 'number' ? indices[group] : indices.groups?.[group]
}

export function createRuleSet (rules: LeakRule[]) {
  const compiled = rules.map(compileRule)

  function evaluate (rule: CompiledRule, text: string, offset: number, out: RuleMatch[]): void {
    const re = rule.re
    re.lastIndex = 0
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[0].length === 0) { re.lastIndex++; continue }
      const span = groupSpan(m, rule.secretGroup) ?? [m.index, m.index + m[0].length]
      const secret = text.slice(span[0], span[1])
      if (shannonEntropy(secret) < rule.entropy) continue
      if (rule.allow.some(a => a.test(secret))) continue
      const lower = secret.toLowerCase()
      if (rule.stopwords.some(w => lower.includes(w))) continue
      const rel = span[0] - m.index
      out.push({
        rule: rule.id,
        start: offset + m.index,
        end: offset + m.index + m[0].length,
        secretStart: offset + span[0],
        secretEnd: offset + span[1],
        label: m[0].slice(0, rel) + '****' + m[0].slice(rel + secret.length)
      })
    }
  }

  /** Every rule match in `buf`. The regex runs only on windows around keyword hits. */
  function search (buf: Buffer, out: RuleMatch[], hist: Histogram = null): void {
    const hitsOf = new Map<string, number[]>() // rules often share keywords: find each once
    const find = (k: Buffer) => {
      const id = k.toString('latin1')
      let hits = hitsOf.get(id)
      if (hits === undefined) {
        const found: number[] = []
        forEachMatch(buf, k, hist, at => { found.push(at); return at + 1 })
        hitsOf.set(id, hits = found)
      }
      return hits
    }
    for (const rule of compiled) {
      if (rule.keywords.length === 0) {
        evaluate(rule, buf.toString('latin1'), 0, out)
        continue
      }
      const hits = rule.keywords.length === 1 ? find(rule.keywords[0]!) : rule.keywords.flatMap(find).sort((a, b) => a - b)
      if (hits.length === 0) continue
      let from = -1
      let to = -1
      const seen = new Set<number>()
      // `before`: where the next region starts. A match from there on belongs to that region, which
      // sees it whole; this one may see it cut off at its end.
      const flush = (before: number) => {
        if (from < 0) return
        const found: RuleMatch[] = []
        evaluate(rule, buf.toString('latin1', from, to), from, found)
        for (const f of found) {
          if (seen.has(f.start) || f.start >= before) continue
          seen.add(f.start)
          out.push(f)
        }
      }
      for (const p of hits) {
        const a = Math.max(0, p - rule.before)
        const b = Math.min(buf.length, p + rule.after)
        // Dense keywords merge windows; a region is cut at 64 KiB so no string grows with the input.
        if (a <= to && to - from < 65536) {
          to = Math.max(to, b)
        } else {
          flush(a)
          from = a
          to = b
        }
      }
      flush(Infinity)
    }
  }

  return { search, ids: compiled.map(r => r.id) }
}

export type RuleSet = ReturnType<typeof createRuleSet>
