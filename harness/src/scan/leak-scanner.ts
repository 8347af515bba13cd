// The leak scanner: finds canary keys (contract 2.1) in any text or bytes, raw or encoded, whole or
// as a run of MIN_RUN characters of the secret, and any other Tenzro key through the pattern rules. Built once per set of canaries; scanning is one sampled pass for the
// canaries plus a few Buffer.indexOf passes for keywords and decoder triggers.
import { createCanaryIndex, parseCanary, type CanaryRun } from './canary-index.ts'
import { createDecoders, type DecodedToken, type DecoderName } from './decoders.ts'
import { createFileScanning } from './files.ts'
import { sampleHistogram } from './needle.ts'
import { redactedPreview, sanitizeLabel, spanLookup, type Spans } from './preview.ts'
import { createRuleSet, defaultRules, type LeakRule, type RuleMatch } from './rules.ts'
import type { Encoding, Finding, StreamOptions } from './types.ts'

export type { Encoding, Finding, StreamOptions } from './types.ts'

export interface LeakScannerOptions {
  /** Keys (or other tokens of at least 12 characters) that must never appear. */
  canaries: string[]
  /** Pattern rules; default: harness/rules/leak-rules.json. `[]` for canaries only. */
  rules?: LeakRule[]
  /** How many nested decodings to try (url inside base64, ...). Default 2. */
  maxDecodeDepth?: number
}

interface Hit {
  kind: 'canary' | 'rule'
  canary: number
  rule: string
  encoding: Encoding
  depth: number
  start: number
  end: number
  covered: number
  full: boolean
  label: string
}

type SpanMap = (start: number, end: number) => [number, number]

const identity: SpanMap = (start, end) => [start, end]

function layered (via: DecoderName[], inner: string): Encoding {
  const parts: string[] = [...via]
  if (inner !== 'raw' || parts.length === 0) parts.push(inner)
  return parts.join('+') as Encoding
}

function better (a: Hit, b: Hit): Hit {
  if (a.covered !== b.covered) return a.covered > b.covered ? a : b
  if (a.depth !== b.depth) return a.depth < b.depth ? a : b
  return a.encoding.length <= b.encoding.length ? a : b
}

/**
 * One finding per leak: overlapping hits of the same canary merge into the best one (most secret
 * characters, fewest decodings), overlapping rule hits too (a URL-encoded key is a fragment in the
 * raw text and a whole key once decoded), and a rule hit on a canary is left to the canary finding.
 */
function dedupe (hits: Hit[]): Hit[] {
  hits.sort((a, b) => a.start - b.start || b.end - a.end)
  const kept: Hit[] = []
  const lastOf = new Map<string, number>()
  for (const h of hits) {
    const key = h.kind === 'canary' ? `c${h.canary}` : 'r'
    const at = lastOf.get(key)
    const prev = at === undefined ? undefined : kept[at]
    if (prev !== undefined && h.start < prev.end) {
      const best = better(prev, h)
      kept[at!] = { ...best, start: Math.min(prev.start, h.start), end: Math.max(prev.end, h.end) }
      continue
    }
    lastOf.set(key, kept.length)
    kept.push(h)
  }
  // Canary spans are sorted by start: the running maximum of their ends answers "does any canary
  // that starts before this rule match ends reach into it" with one binary search.
  const canaries = kept.filter(h => h.kind === 'canary')
  const maxEnd: number[] = []
  for (const c of canaries) maxEnd.push(Math.max(c.end, maxEnd[maxEnd.length - 1] ?? 0))
  return kept.filter(h => {
    if (h.kind === 'canary') return true
    let lo = 0
    let hi = canaries.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (canaries[mid]!.start < h.end) lo = mid + 1
      else hi = mid
    }
    return lo === 0 || maxEnd[lo - 1]! <= h.start
  })
}

function newlinesBefore (buf: Buffer, end: number): [number, number] {
  let count = 0
  let last = -1
  for (let p = buf.indexOf(0x0a); p !== -1 && p < end; p = buf.indexOf(0x0a, p + 1)) {
    count++
    last = p
  }
  return [count, last]
}

export function createLeakScanner (options: LeakScannerOptions) {
  if (!Array.isArray(options?.canaries)) throw new TypeError('createLeakScanner needs {canaries: string[]}')
  const canaries = options.canaries.map((key, i) => parseCanary(key, i))
  const index = createCanaryIndex(canaries)
  const rules = createRuleSet(options.rules ?? defaultRules())
  const decoders = createDecoders('tnz_')
  const maxDepth = options.maxDecodeDepth ?? 2

  function scanLayer (buf: Buffer, depth: number, via: DecoderName[], map: SpanMap, out: Hit[]): void {
    const runs: CanaryRun[] = []
    index.search(buf, runs)
    for (const r of runs) {
      let start = r.start
      const c = canaries[r.canary]!
      // A raw secret right behind its own `tnz_<tenant>_` is the whole key: cover it all.
      if (r.encoding === 'raw' && r.secretStart === 0 && c.prefix !== null && start >= c.prefix.length &&
        c.prefix.compare(buf, start - c.prefix.length, start) === 0) {
        start -= c.prefix.length
      }
      const [s, e] = map(start, r.end)
      out.push({ kind: 'canary', canary: r.canary, rule: '', encoding: layered(via, r.encoding), depth, start: s, end: e, covered: r.covered, full: r.full, label: c.label })
    }
    const hist = sampleHistogram(buf)
    const matches: RuleMatch[] = []
    rules.search(buf, matches, hist)
    for (const m of matches) {
      const [s, e] = map(m.start, m.end)
      out.push({ kind: 'rule', canary: -1, rule: m.rule, encoding: layered(via, 'raw'), depth, start: s, end: e, covered: m.end - m.start, full: true, label: m.label })
    }
    if (depth >= maxDepth) return
    const tokens: DecodedToken[] = []
    decoders.decode(buf, tokens, hist)
    for (const t of tokens) {
      const child: SpanMap = (a, b) => map(t.starts[a]!, t.ends[b - 1]!)
      scanLayer(t.bytes, depth + 1, [...via, t.name], child, out)
    }
  }

  function collect (buf: Buffer): Hit[] {
    const hits: Hit[] = []
    scanLayer(buf, 0, [], identity, hits)
    return dedupe(hits)
  }

  function toFinding (h: Hit, buf: Buffer, source: string, offset: number, line: number, column: number, spans: (a: number, b: number) => Spans): Finding {
    const label = h.encoding === 'raw' ? h.label : `${h.encoding}:${sanitizeLabel(h.label)}`
    const f: Finding = {
      kind: h.kind,
      id: h.kind === 'canary' ? `canary:${h.canary}` : `rule:${h.rule}`,
      encoding: h.encoding,
      match: h.full ? 'full' : 'partial',
      covered: h.covered,
      source,
      offset,
      length: h.end - h.start,
      line,
      column,
      preview: redactedPreview(buf, h.start, h.end, label, spans, h.encoding.includes('base64'))
    }
    if (h.kind === 'canary') f.canary = h.canary
    else f.rule = h.rule
    return f
  }

  /** Counts lines forward over a buffer whose first byte is at `base` in the whole input. */
  function lineCounter (buf: Buffer, base: number, linesBefore: number, lastNewline: number) {
    let pos = 0
    let lines = linesBefore
    let nl = lastNewline
    return {
      /** Line and column of buf position `at`; positions must not go backwards. */
      at (at: number): [number, number] {
        for (let p = buf.indexOf(0x0a, pos); p !== -1 && p < at; p = buf.indexOf(0x0a, p + 1)) {
          lines++
          nl = base + p
        }
        pos = Math.max(pos, at)
        return [lines + 1, base + at - nl]
      }
    }
  }

  function toBuffer (input: string | Uint8Array): Buffer {
    if (typeof input === 'string') return Buffer.from(input, 'utf8')
    if (Buffer.isBuffer(input)) return input
    if (input instanceof Uint8Array) return Buffer.from(input.buffer, input.byteOffset, input.byteLength)
    throw new TypeError(`scan() takes a string or bytes, got ${typeof input}`)
  }

  /** Every leak in `input`, sorted by offset. */
  function scan (input: string | Uint8Array, source: string): Finding[] {
    const buf = toBuffer(input)
    const hits = collect(buf)
    const lines = lineCounter(buf, 0, 0, -1)
    const spans = spanLookup(hits.map(h => [h.start, h.end] as const))
    return hits.map(h => {
      const [line, column] = lines.at(h.start)
      return toFinding(h, buf, source, h.start, line, column, spans)
    })
  }

  /**
   * A scanner for input that arrives in chunks. It keeps the last `overlapBytes` of what it has
   * seen and holds back findings near the end until the next chunk shows whether they go on, so a
   * key split across chunks is found once and whole. `write` and `end` return the new findings.
   */
  function createStreamScanner (source: string, opts: StreamOptions = {}) {
    const overlap = opts.overlapBytes ?? 64 * 1024
    const chunkBytes = opts.chunkBytes ?? 1024 * 1024
    if (!(overlap >= 64)) throw new TypeError('overlapBytes must be at least 64')
    const hold = overlap >> 2
    let carry = Buffer.alloc(0)
    let pending: Buffer[] = []
    let pendingBytes = 0
    let base = 0
    let decidedUpTo = 0
    let linesBefore = 0
    let lastNewline = -1
    let ended = false

    function round (final: boolean): Finding[] {
      const buf = pending.length === 0 ? carry : Buffer.concat([carry, ...pending])
      pending = []
      pendingBytes = 0
      const limit = final ? buf.length : buf.length - hold
      const out: Finding[] = []
      const lines = lineCounter(buf, base, linesBefore, lastNewline)
      const drop = Math.max(0, buf.length - overlap)
      const [dropped, lastDropped] = newlinesBefore(buf, drop)
      if (limit > decidedUpTo - base) {
        const hits = collect(buf)
        const spans = spanLookup(hits.map(h => [h.start, h.end] as const))
        for (const h of hits) {
          if (h.end <= decidedUpTo - base || h.end > limit) continue
          const [line, column] = lines.at(h.start)
          out.push(toFinding(h, buf, source, base + h.start, line, column, spans))
        }
        decidedUpTo = base + limit
      }
      linesBefore += dropped
      if (lastDropped >= 0) lastNewline = base + lastDropped
      carry = Buffer.from(buf.subarray(drop))
      base += drop
      return out
    }

    return {
      write (chunk: string | Uint8Array): Finding[] {
        if (ended) throw new Error('write after end')
        const b = toBuffer(chunk)
        if (b.length === 0) return []
        pending.push(b)
        pendingBytes += b.length
        return pendingBytes >= chunkBytes ? round(false) : []
      },
      end (): Finding[] {
        if (ended) return []
        ended = true
        return round(true)
      }
    }
  }

  async function scanStream (input: AsyncIterable<string | Uint8Array>, source: string, opts?: StreamOptions): Promise<Finding[]> {
    const s = createStreamScanner(source, opts)
    const out: Finding[] = []
    for await (const chunk of input) out.push(...s.write(chunk))
    out.push(...s.end())
    return out
  }

  const { scanFile, scanDir } = createFileScanning(scanStream)

  return {
    /** How many canaries; findings refer to them by their index in `options.canaries`. */
    canaryCount: canaries.length,
    /** Ids of the pattern rules in use. */
    rules: rules.ids,
    scan,
    createStreamScanner,
    scanStream,
    scanFile,
    scanDir
  }
}

export type LeakScanner = ReturnType<typeof createLeakScanner>
