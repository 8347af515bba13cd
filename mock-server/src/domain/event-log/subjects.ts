// NATS subject patterns for the stream's `subjects` filter (contract 4.2): tokens separated by `.`,
// `*` matches exactly one token, `>` matches one or more tokens and only as the last token.

const TOKEN_RE = /^[A-Za-z0-9_-]+$/
const MAX_PATTERNS = 32
const MAX_SUBJECT_CHARS = 256

/** A publishable subject: one or more literal tokens (no wildcards). */
export function isValidSubject (s: unknown): s is string {
  if (typeof s !== 'string' || s.length === 0 || s.length > MAX_SUBJECT_CHARS) return false
  for (const t of s.split('.')) if (!TOKEN_RE.test(t)) return false
  return true
}

/** Why a pattern is not a valid NATS subject pattern, or undefined when it is. */
export function patternError (p: string): string | undefined {
  if (p.length === 0) return 'is empty'
  if (p.length > MAX_SUBJECT_CHARS) return `is over ${MAX_SUBJECT_CHARS} chars`
  const tokens = p.split('.')
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    if (t === '*') continue
    if (t === '>') {
      if (i !== tokens.length - 1) return '">" may only be the last token'
      continue
    }
    if (!TOKEN_RE.test(t)) return `token ${JSON.stringify(t)} is not "*", ">" or [A-Za-z0-9_-]+`
  }
  return undefined
}

/** Does `subject` match the NATS pattern `pattern`? */
export function subjectMatches (pattern: string, subject: string): boolean {
  const p = pattern.split('.')
  const s = subject.split('.')
  for (let i = 0; i < p.length; i++) {
    const t = p[i]
    if (t === '>') return s.length > i
    if (i >= s.length) return false
    if (t !== '*' && t !== s[i]) return false
  }
  return p.length === s.length
}

export type SubjectFilter = (subject: string) => boolean

const matchAll: SubjectFilter = () => true
const filterCache = new Map<string, SubjectFilter>()
const FILTER_CACHE_MAX = 1024

/**
 * Parse the comma-separated `subjects` query value. Returns the filter, or the list of problems.
 * Filters are cached by their text and memoise per subject, so the per-event check on the write path
 * is one Map lookup, shared by every stream with the same filter (house style principle 2).
 */
export function parseSubjects (raw: string | undefined): { filter: SubjectFilter, patterns: string[] } | { errors: string[] } {
  if (raw === undefined) return { filter: matchAll, patterns: [] }
  const patterns = raw.split(',').map((p) => p.trim())
  const errors: string[] = []
  if (patterns.length > MAX_PATTERNS) errors.push(`at most ${MAX_PATTERNS} patterns`)
  for (const p of patterns) {
    const e = patternError(p)
    if (e !== undefined) errors.push(`${JSON.stringify(p)} ${e}`)
  }
  if (errors.length > 0) return { errors }
  const unique = [...new Set(patterns)].sort()
  if (unique.includes('>')) return { filter: matchAll, patterns: unique }
  const cacheKey = unique.join(',')
  let filter = filterCache.get(cacheKey)
  if (filter === undefined) {
    const memo = new Map<string, boolean>()
    filter = function matches (subject: string): boolean {
      let m = memo.get(subject)
      if (m === undefined) {
        m = unique.some((p) => subjectMatches(p, subject))
        if (memo.size < FILTER_CACHE_MAX) memo.set(subject, m)
      }
      return m
    }
    if (filterCache.size >= FILTER_CACHE_MAX) filterCache.delete(filterCache.keys().next().value!)
    filterCache.set(cacheKey, filter)
  }
  return { filter, patterns: unique }
}
