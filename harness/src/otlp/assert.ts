// Trace assertions: select spans, relate them (parent, child, link, order), and judge them.
//
// Every `expect*` returns a value, `{status: 'pass' | 'fail', summary, evidence}` (house style
// principle 4), never throws for a failed expectation, and never passes vacuously: when the
// selector finds no span, the result is 'fail' unless `allowNone` is set, because a check that
// saw nothing cannot vouch for anything. Evidence is JSON-safe (bigint times become strings)
// and lists at most `sample` offenders (default 10) next to their total.
//
// Spans are deduplicated by (traceId, spanId) first: an exporter that retries a batch after a
// timeout delivers the same span twice, and that is not the client doing the work twice.
import type { AttributeValue, Span, SpanKindName, StatusCodeName } from './span.ts'

export type ValueMatcher =
  | string | number | boolean | bigint | null
  | RegExp
  | ((value: AttributeValue | undefined) => boolean)
  | { exists: boolean }
  | { gt?: number | bigint, gte?: number | bigint, lt?: number | bigint, lte?: number | bigint }
  | { oneOf: readonly (string | number | boolean | bigint)[] }

export interface SpanSelector {
  /** Exact name, or a pattern. */
  name?: string | RegExp
  kind?: SpanKindName | readonly SpanKindName[]
  /** Every listed span attribute must match. A plain value means equality. */
  attributes?: Record<string, ValueMatcher>
  /** Every listed resource attribute must match (e.g. `{'service.name': 'checkout'}`). */
  resource?: Record<string, ValueMatcher>
  /** Instrumentation scope name. */
  scope?: string | RegExp
  status?: StatusCodeName
  traceId?: string
  /** Anything else. */
  where?: (span: Span) => boolean
  /** How evidence names this selection; derived from the fields when absent. */
  label?: string
}

/** A span name (string or RegExp), a SpanSelector, or a predicate. */
export type Selector = string | RegExp | SpanSelector | ((span: Span) => boolean)

export type Quantifier = 'every' | 'some'

export interface TraceCheckResult {
  status: 'pass' | 'fail'
  /** One sentence: what was expected and what was found. */
  summary: string
  evidence: Record<string, unknown>
}

/** What evidence shows of a span. */
export interface SpanRef {
  name: string
  kind: SpanKindName
  traceId: string
  spanId: string
  parentSpanId?: string
  startTimeUnixNano: string
  durationMs: number
}

export interface CommonOptions {
  /** Pass when the selector finds no span. Default false. */
  allowNone?: boolean
  /** Offenders listed in evidence. Default 10. */
  sample?: number
}

export interface SpanIndex {
  /** Distinct spans, in arrival order. */
  readonly spans: readonly Span[]
  /** Copies of an already seen (traceId, spanId) that were left out. */
  readonly duplicates: number
  get (traceId: string, spanId: string): Span | undefined
  /** The spans of one trace, by start time. */
  spansOf (traceId: string): readonly Span[]
  /** Every trace, each with its spans by start time. */
  traces (): ReadonlyMap<string, readonly Span[]>
  parentOf (span: Span): Span | undefined
  childrenOf (span: Span): readonly Span[]
  /** Each link of `span` with the linked span, when it was received. */
  linksOf (span: Span): { traceId: string, spanId: string, span: Span | undefined }[]
  /** Spans grouped by name. */
  byName (): ReadonlyMap<string, readonly Span[]>
  select (selector: Selector): Span[]
}

const EMPTY: readonly Span[] = Object.freeze([])

function key (traceId: string, spanId: string): string {
  return traceId + ':' + spanId
}

function byStart (a: Span, b: Span): number {
  return a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0
}

/** Indexes spans once, so relations cost a map lookup each. */
export function indexSpans (input: readonly Span[]): SpanIndex {
  const byId = new Map<string, Span>()
  const spans: Span[] = []
  let duplicates = 0
  for (const span of input) {
    const k = key(span.traceId, span.spanId)
    if (byId.has(k)) {
      duplicates++
      continue
    }
    byId.set(k, span)
    spans.push(span)
  }
  let traceMap: Map<string, Span[]> | undefined
  let childMap: Map<string, Span[]> | undefined
  let nameMap: Map<string, Span[]> | undefined

  function traces (): Map<string, Span[]> {
    if (traceMap === undefined) {
      traceMap = new Map()
      for (const span of spans) {
        const list = traceMap.get(span.traceId)
        if (list === undefined) traceMap.set(span.traceId, [span])
        else list.push(span)
      }
      for (const list of traceMap.values()) list.sort(byStart)
    }
    return traceMap
  }

  function children (): Map<string, Span[]> {
    if (childMap === undefined) {
      childMap = new Map()
      for (const span of spans) {
        if (span.parentSpanId === undefined) continue
        const k = key(span.traceId, span.parentSpanId)
        const list = childMap.get(k)
        if (list === undefined) childMap.set(k, [span])
        else list.push(span)
      }
      for (const list of childMap.values()) list.sort(byStart)
    }
    return childMap
  }

  const index: SpanIndex = {
    spans,
    duplicates,
    get: (traceId, spanId) => byId.get(key(traceId, spanId)),
    spansOf: traceId => traces().get(traceId) ?? EMPTY,
    traces,
    parentOf: span => span.parentSpanId === undefined ? undefined : byId.get(key(span.traceId, span.parentSpanId)),
    childrenOf: span => children().get(key(span.traceId, span.spanId)) ?? EMPTY,
    linksOf: span => span.links.map(link => ({ traceId: link.traceId, spanId: link.spanId, span: byId.get(key(link.traceId, link.spanId)) })),
    byName () {
      if (nameMap === undefined) {
        nameMap = new Map()
        for (const span of spans) {
          const list = nameMap.get(span.name)
          if (list === undefined) nameMap.set(span.name, [span])
          else list.push(span)
        }
      }
      return nameMap
    },
    select: selector => {
      const match = compile(selector)
      return spans.filter(match)
    }
  }
  return index
}

function asIndex (source: SpanIndex | readonly Span[]): SpanIndex {
  return Array.isArray(source) ? indexSpans(source) : source as SpanIndex
}

/** The spans that match `selector`, in the order given. */
export function selectSpans (spans: readonly Span[], selector: Selector): Span[] {
  return spans.filter(compile(selector))
}

/** Spans grouped by trace id, each group by start time. */
export function groupByTrace (spans: readonly Span[]): ReadonlyMap<string, readonly Span[]> {
  return indexSpans(spans).traces()
}

// ---------------------------------------------------------------------------------------------
// Matching

function isRange (m: object): m is { gt?: number | bigint, gte?: number | bigint, lt?: number | bigint, lte?: number | bigint } {
  return 'gt' in m || 'gte' in m || 'lt' in m || 'lte' in m
}

/** Whether an attribute value satisfies a matcher. Numbers and bigints compare by value. */
export function matchValue (value: AttributeValue | undefined, matcher: ValueMatcher): boolean {
  if (typeof matcher === 'function') return matcher(value)
  if (matcher instanceof RegExp) return typeof value === 'string' && matcher.test(value)
  if (matcher === null) return value === null
  if (typeof matcher === 'object') {
    if ('exists' in matcher) return (value !== undefined) === matcher.exists
    if ('oneOf' in matcher) return matcher.oneOf.some(option => matchValue(value, option))
    if (isRange(matcher)) {
      if (typeof value !== 'number' && typeof value !== 'bigint') return false
      if (matcher.gt !== undefined && !(value > matcher.gt)) return false
      if (matcher.gte !== undefined && !(value >= matcher.gte)) return false
      if (matcher.lt !== undefined && !(value < matcher.lt)) return false
      if (matcher.lte !== undefined && !(value <= matcher.lte)) return false
      return true
    }
    return false
  }
  if ((typeof matcher === 'number' || typeof matcher === 'bigint') && (typeof value === 'number' || typeof value === 'bigint')) {
    return value == matcher // loose on purpose: 5n == 5
  }
  return value === matcher
}

function matchAll (attributes: Record<string, AttributeValue>, matchers: Record<string, ValueMatcher>): boolean {
  for (const name in matchers) {
    const value = Object.hasOwn(attributes, name) ? attributes[name] : undefined
    if (!matchValue(value, matchers[name] as ValueMatcher)) return false
  }
  return true
}

function matchText (text: string, m: string | RegExp): boolean {
  return typeof m === 'string' ? text === m : m.test(text)
}

/** Turns a selector into a predicate. */
export function compile (selector: Selector): (span: Span) => boolean {
  if (typeof selector === 'function') return selector
  if (typeof selector === 'string' || selector instanceof RegExp) return span => matchText(span.name, selector)
  const s = selector
  const kinds = s.kind === undefined ? undefined : typeof s.kind === 'string' ? [s.kind] : s.kind
  return span =>
    (s.name === undefined || matchText(span.name, s.name)) &&
    (kinds === undefined || kinds.includes(span.kind)) &&
    (s.status === undefined || span.status.code === s.status) &&
    (s.traceId === undefined || span.traceId === s.traceId.toLowerCase()) &&
    (s.scope === undefined || matchText(span.scope.name, s.scope)) &&
    (s.attributes === undefined || matchAll(span.attributes, s.attributes)) &&
    (s.resource === undefined || matchAll(span.resource, s.resource)) &&
    (s.where === undefined || s.where(span))
}

function describeMatcher (m: ValueMatcher): string {
  if (typeof m === 'function') return ' matches ' + (m.name === '' ? 'a predicate' : m.name)
  if (m instanceof RegExp) return '~' + String(m)
  if (m === null) return '=null'
  if (typeof m === 'object') {
    if ('exists' in m) return m.exists ? ' exists' : ' absent'
    if ('oneOf' in m) return ' in [' + m.oneOf.map(String).join(', ') + ']'
    const parts: string[] = []
    if (m.gt !== undefined) parts.push('>' + String(m.gt))
    if (m.gte !== undefined) parts.push('>=' + String(m.gte))
    if (m.lt !== undefined) parts.push('<' + String(m.lt))
    if (m.lte !== undefined) parts.push('<=' + String(m.lte))
    return ' ' + parts.join(' ')
  }
  return '=' + JSON.stringify(typeof m === 'bigint' ? String(m) : m)
}

function describeMatchers (prefix: string, matchers: Record<string, ValueMatcher>): string[] {
  return Object.keys(matchers).map(name => prefix + name + describeMatcher(matchers[name] as ValueMatcher))
}

/** A short text naming a selection, for summaries and evidence. */
export function describeSelector (selector: Selector): string {
  if (typeof selector === 'function') return selector.name === '' ? 'spans matching a predicate' : `spans matching ${selector.name}`
  if (typeof selector === 'string') return `'${selector}' spans`
  if (selector instanceof RegExp) return `spans named ${String(selector)}`
  if (selector.label !== undefined) return selector.label
  const parts: string[] = []
  if (selector.kind !== undefined) parts.push(typeof selector.kind === 'string' ? selector.kind : selector.kind.join('|'))
  if (selector.name !== undefined) parts.push(typeof selector.name === 'string' ? `'${selector.name}'` : String(selector.name))
  parts.push('spans')
  const where: string[] = []
  if (selector.status !== undefined) where.push(`status=${selector.status}`)
  if (selector.scope !== undefined) where.push(`scope=${String(selector.scope)}`)
  if (selector.traceId !== undefined) where.push(`trace ${selector.traceId}`)
  if (selector.attributes !== undefined) where.push(...describeMatchers('', selector.attributes))
  if (selector.resource !== undefined) where.push(...describeMatchers('resource.', selector.resource))
  if (selector.where !== undefined) where.push('a predicate')
  return where.length === 0 ? parts.join(' ') : `${parts.join(' ')} with ${where.join(', ')}`
}

// ---------------------------------------------------------------------------------------------
// Evidence helpers

export function spanRef (span: Span): SpanRef {
  const ref: SpanRef = {
    name: span.name,
    kind: span.kind,
    traceId: span.traceId,
    spanId: span.spanId,
    startTimeUnixNano: String(span.startTimeUnixNano),
    durationMs: span.durationMs
  }
  if (span.parentSpanId !== undefined) ref.parentSpanId = span.parentSpanId
  return ref
}

/** Makes a value JSON-safe for evidence: bigint to string, bytes to hex. */
function plain (value: unknown): unknown {
  if (typeof value === 'bigint') return String(value)
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex')
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = plain(v)
    return out
  }
  return value
}

function sampleOf<T> (items: readonly T[], n: number): T[] {
  return items.slice(0, n)
}

function none (what: string, selector: Selector, allowNone: boolean | undefined, extra: Record<string, unknown> = {}): TraceCheckResult {
  const description = describeSelector(selector)
  return {
    status: allowNone === true ? 'pass' : 'fail',
    summary: allowNone === true
      ? `No ${description} were received, which is allowed here.`
      : `No ${description} were received: cannot show that ${what}.`,
    evidence: { selector: description, selected: 0, ...extra }
  }
}

function result (pass: boolean, summary: string, evidence: Record<string, unknown>): TraceCheckResult {
  return { status: pass ? 'pass' : 'fail', summary, evidence }
}

// ---------------------------------------------------------------------------------------------
// Assertions

export interface CountOptions {
  min?: number
  max?: number
  exactly?: number
  sample?: number
}

/** How many spans match. With no bound given, at least one is expected. */
export function expectCount (source: SpanIndex | readonly Span[], selector: Selector, options: CountOptions = {}): TraceCheckResult {
  const index = asIndex(source)
  const selected = index.select(selector)
  const min = options.exactly ?? options.min ?? (options.max === undefined ? 1 : 0)
  const max = options.exactly ?? options.max ?? Infinity
  const expected = options.exactly !== undefined
    ? `exactly ${options.exactly}`
    : max === Infinity ? `at least ${min}` : min === 0 ? `at most ${max}` : `${min} to ${max}`
  const pass = selected.length >= min && selected.length <= max
  const description = describeSelector(selector)
  return result(pass, `Expected ${expected} ${description}, found ${selected.length}.`, {
    selector: description,
    expected,
    count: selected.length,
    sample: sampleOf(selected, options.sample ?? 10).map(spanRef)
  })
}

export interface AttributeOptions extends CommonOptions {
  /** 'every' (default): each selected span must match; 'some': one is enough. */
  quantifier?: Quantifier
}

/** The selected spans carry attributes that match `matchers`. */
export function expectAttributes (
  source: SpanIndex | readonly Span[],
  selector: Selector,
  matchers: Record<string, ValueMatcher>,
  options: AttributeOptions = {}
): TraceCheckResult {
  const index = asIndex(source)
  const selected = index.select(selector)
  const expectation = describeMatchers('', matchers).join(', ')
  if (selected.length === 0) return none(`they have ${expectation}`, selector, options.allowNone, { expected: expectation })
  const quantifier = options.quantifier ?? 'every'
  const offenders = selected.filter(span => !matchAll(span.attributes, matchers))
  const matching = selected.length - offenders.length
  const pass = quantifier === 'every' ? offenders.length === 0 : matching > 0
  const description = describeSelector(selector)
  return result(pass,
    quantifier === 'every'
      ? pass ? `All ${selected.length} ${description} have ${expectation}.` : `${offenders.length} of ${selected.length} ${description} lack ${expectation}.`
      : `${matching} of ${selected.length} ${description} have ${expectation}; at least one was expected.`,
    {
      selector: description,
      expected: expectation,
      quantifier,
      selected: selected.length,
      offending: offenders.length,
      offenders: sampleOf(offenders, options.sample ?? 10).map(span => ({
        ...spanRef(span),
        actual: plain(Object.fromEntries(Object.keys(matchers).map(k => [k, Object.hasOwn(span.attributes, k) ? span.attributes[k] : undefined])))
      }))
    })
}

export interface RelationOptions extends CommonOptions {
  quantifier?: Quantifier
}

/**
 * Each selected child has a parent in the same trace that matches `parent`; for example every
 * server span has a client parent. A parent that was never received counts against it.
 */
export function expectChildOf (
  source: SpanIndex | readonly Span[],
  child: Selector,
  parent: Selector,
  options: RelationOptions = {}
): TraceCheckResult {
  const index = asIndex(source)
  const children = index.select(child)
  const parentDescription = describeSelector(parent)
  if (children.length === 0) return none(`their parents are ${parentDescription}`, child, options.allowNone, { parent: parentDescription })
  const isParent = compile(parent)
  const orphans: Span[] = []
  const wrongParent: { child: Span, parent: Span }[] = []
  for (const span of children) {
    const p = index.parentOf(span)
    if (p === undefined) orphans.push(span)
    else if (!isParent(p)) wrongParent.push({ child: span, parent: p })
  }
  const quantifier = options.quantifier ?? 'every'
  const bad = orphans.length + wrongParent.length
  const good = children.length - bad
  const pass = quantifier === 'every' ? bad === 0 : good > 0
  const n = options.sample ?? 10
  const description = describeSelector(child)
  return result(pass,
    quantifier === 'every'
      ? pass ? `All ${children.length} ${description} have a parent among ${parentDescription}.` : `${bad} of ${children.length} ${description} have no parent among ${parentDescription} (${orphans.length} without a received parent, ${wrongParent.length} with another parent).`
      : `${good} of ${children.length} ${description} have a parent among ${parentDescription}; at least one was expected.`,
    {
      selector: description,
      parent: parentDescription,
      quantifier,
      selected: children.length,
      withMatchingParent: good,
      withoutParent: orphans.length,
      withOtherParent: wrongParent.length,
      orphans: sampleOf(orphans, n).map(spanRef),
      otherParents: sampleOf(wrongParent, n).map(({ child: c, parent: p }) => ({ child: spanRef(c), parent: spanRef(p) }))
    })
}

/**
 * Each selected parent (or, with quantifier 'some', at least one) has a child that matches
 * `child`; for example a client span that was resent has a server child.
 */
export function expectHasChild (
  source: SpanIndex | readonly Span[],
  parent: Selector,
  child: Selector,
  options: RelationOptions = {}
): TraceCheckResult {
  const index = asIndex(source)
  const parents = index.select(parent)
  const childDescription = describeSelector(child)
  if (parents.length === 0) return none(`they have ${childDescription} as children`, parent, options.allowNone, { child: childDescription })
  const isChild = compile(child)
  const childless: Span[] = []
  const pairs: { parent: Span, child: Span }[] = []
  for (const span of parents) {
    const found = index.childrenOf(span).find(isChild)
    if (found === undefined) childless.push(span)
    else pairs.push({ parent: span, child: found })
  }
  const quantifier = options.quantifier ?? 'every'
  const pass = quantifier === 'every' ? childless.length === 0 : pairs.length > 0
  const n = options.sample ?? 10
  const description = describeSelector(parent)
  return result(pass,
    quantifier === 'every'
      ? pass ? `All ${parents.length} ${description} have a child among ${childDescription}.` : `${childless.length} of ${parents.length} ${description} have no child among ${childDescription}.`
      : `${pairs.length} of ${parents.length} ${description} have a child among ${childDescription}; at least one was expected.`,
    {
      selector: description,
      child: childDescription,
      quantifier,
      selected: parents.length,
      withChild: pairs.length,
      withoutChild: childless.length,
      childless: sampleOf(childless, n).map(spanRef),
      pairs: sampleOf(pairs, n).map(({ parent: p, child: c }) => ({ parent: spanRef(p), child: spanRef(c) }))
    })
}

/** Each selected span links to a received span that matches `target` (span links, not parents). */
export function expectLinkedTo (
  source: SpanIndex | readonly Span[],
  from: Selector,
  target: Selector,
  options: RelationOptions = {}
): TraceCheckResult {
  const index = asIndex(source)
  const selected = index.select(from)
  const targetDescription = describeSelector(target)
  if (selected.length === 0) return none(`they link to ${targetDescription}`, from, options.allowNone, { target: targetDescription })
  const isTarget = compile(target)
  const unlinked: { span: Span, links: { traceId: string, spanId: string, received: boolean }[] }[] = []
  let linked = 0
  for (const span of selected) {
    const links = index.linksOf(span)
    if (links.some(l => l.span !== undefined && isTarget(l.span))) linked++
    else unlinked.push({ span, links: links.map(l => ({ traceId: l.traceId, spanId: l.spanId, received: l.span !== undefined })) })
  }
  const quantifier = options.quantifier ?? 'every'
  const pass = quantifier === 'every' ? unlinked.length === 0 : linked > 0
  const description = describeSelector(from)
  return result(pass,
    quantifier === 'every'
      ? pass ? `All ${selected.length} ${description} link to ${targetDescription}.` : `${unlinked.length} of ${selected.length} ${description} have no link to ${targetDescription}.`
      : `${linked} of ${selected.length} ${description} link to ${targetDescription}; at least one was expected.`,
    {
      selector: description,
      target: targetDescription,
      quantifier,
      selected: selected.length,
      linked,
      unlinked: sampleOf(unlinked, options.sample ?? 10).map(({ span, links }) => ({ ...spanRef(span), links }))
    })
}

export interface OrderOptions extends CommonOptions {
  /** Compare within each trace (default) or across all spans. */
  within?: 'trace' | 'all'
  /**
   * false (default): each `first` span starts no later than each `then` span starts.
   * true: each `first` span ends no later than each `then` span starts (no overlap).
   */
  strict?: boolean
}

/** Spans matching `first` come before spans matching `then`, in every trace that has both. */
export function expectOrder (
  source: SpanIndex | readonly Span[],
  first: Selector,
  then: Selector,
  options: OrderOptions = {}
): TraceCheckResult {
  const index = asIndex(source)
  const isFirst = compile(first)
  const isThen = compile(then)
  const groups: Iterable<readonly Span[]> = (options.within ?? 'trace') === 'trace' ? index.traces().values() : [index.spans]
  const strict = options.strict === true
  const violations: { first: Span, then: Span }[] = []
  let compared = 0
  for (const group of groups) {
    const firsts = group.filter(isFirst)
    const thens = group.filter(isThen)
    if (firsts.length === 0 || thens.length === 0) continue
    compared++
    // The latest-ending (or latest-starting) `first` against the earliest-starting `then`.
    let latest = firsts[0] as Span
    for (const span of firsts) {
      if ((strict ? span.endTimeUnixNano : span.startTimeUnixNano) > (strict ? latest.endTimeUnixNano : latest.startTimeUnixNano)) latest = span
    }
    for (const span of thens) {
      const bound = strict ? latest.endTimeUnixNano : latest.startTimeUnixNano
      if (span.startTimeUnixNano < bound && span !== latest) violations.push({ first: latest, then: span })
    }
  }
  const firstDescription = describeSelector(first)
  const thenDescription = describeSelector(then)
  const relation = strict ? 'end before' : 'start before'
  if (compared === 0) {
    return {
      status: options.allowNone === true ? 'pass' : 'fail',
      summary: `No ${options.within === 'all' ? 'set of spans' : 'trace'} holds both ${firstDescription} and ${thenDescription}, so their order cannot be shown.`,
      evidence: { first: firstDescription, then: thenDescription, relation, groupsCompared: 0 }
    }
  }
  return result(violations.length === 0,
    violations.length === 0
      ? `In ${compared} ${options.within === 'all' ? 'group' : 'trace(s)'}, ${firstDescription} ${relation} ${thenDescription} start.`
      : `${violations.length} ${thenDescription} started before a ${firstDescription} ${strict ? 'ended' : 'started'}.`,
    {
      first: firstDescription,
      then: thenDescription,
      relation,
      groupsCompared: compared,
      violations: violations.length,
      sample: sampleOf(violations, options.sample ?? 10).map(v => ({ first: { ...spanRef(v.first), endTimeUnixNano: String(v.first.endTimeUnixNano) }, then: spanRef(v.then) }))
    })
}

export interface DurationBounds {
  minMs?: number
  maxMs?: number
}

/** The selected spans lasted between `minMs` and `maxMs`. */
export function expectDuration (
  source: SpanIndex | readonly Span[],
  selector: Selector,
  bounds: DurationBounds,
  options: RelationOptions = {}
): TraceCheckResult {
  const index = asIndex(source)
  const selected = index.select(selector)
  const min = bounds.minMs ?? -Infinity
  const max = bounds.maxMs ?? Infinity
  const expectation = bounds.minMs !== undefined && bounds.maxMs !== undefined
    ? `${min}-${max} ms`
    : bounds.maxMs !== undefined ? `at most ${max} ms` : `at least ${min} ms`
  if (selected.length === 0) return none(`they last ${expectation}`, selector, options.allowNone, { expected: expectation })
  const outside = selected.filter(span => span.durationMs < min || span.durationMs > max)
  const quantifier = options.quantifier ?? 'every'
  const inside = selected.length - outside.length
  const pass = quantifier === 'every' ? outside.length === 0 : inside > 0
  const durations = selected.map(s => s.durationMs).sort((a, b) => a - b)
  const description = describeSelector(selector)
  return result(pass,
    quantifier === 'every'
      ? pass ? `All ${selected.length} ${description} lasted ${expectation}.` : `${outside.length} of ${selected.length} ${description} lasted outside ${expectation}.`
      : `${inside} of ${selected.length} ${description} lasted ${expectation}; at least one was expected.`,
    {
      selector: description,
      expected: expectation,
      quantifier,
      selected: selected.length,
      outside: outside.length,
      minMs: durations[0],
      maxMs: durations[durations.length - 1],
      offenders: sampleOf(outside, options.sample ?? 10).map(spanRef)
    })
}

export interface UniqueOptions extends CommonOptions {
  /** A selected span without the key: 'fail' (default, it cannot be vouched for) or 'ignore'. */
  missing?: 'fail' | 'ignore'
}

/**
 * No two distinct selected spans share a value of `by` (an attribute name, or a function of the
 * span); for example no `messaging.message.id` processed twice among consumer spans.
 */
export function expectUnique (
  source: SpanIndex | readonly Span[],
  selector: Selector,
  by: string | ((span: Span) => unknown),
  options: UniqueOptions = {}
): TraceCheckResult {
  const index = asIndex(source)
  const selected = index.select(selector)
  const keyName = typeof by === 'string' ? by : by.name === '' ? 'key' : by.name
  if (selected.length === 0) return none(`each ${keyName} appears once`, selector, options.allowNone, { key: keyName })
  const read = typeof by === 'string' ? (span: Span) => Object.hasOwn(span.attributes, by) ? span.attributes[by] : undefined : by
  const groups = new Map<string, Span[]>()
  const missing: Span[] = []
  for (const span of selected) {
    const value = read(span)
    if (value === undefined || value === null) {
      missing.push(span)
      continue
    }
    const k = typeof value === 'string' ? 's:' + value : 'j:' + JSON.stringify(plain(value))
    const list = groups.get(k)
    if (list === undefined) groups.set(k, [span])
    else list.push(span)
  }
  const repeated = [...groups.values()].filter(list => list.length > 1)
  const failOnMissing = (options.missing ?? 'fail') === 'fail'
  const pass = repeated.length === 0 && !(failOnMissing && missing.length > 0)
  const n = options.sample ?? 10
  const description = describeSelector(selector)
  const parts: string[] = []
  parts.push(repeated.length === 0
    ? `each of ${groups.size} ${keyName} values appears on one of the ${description}`
    : `${repeated.length} ${keyName} value(s) appear on more than one of the ${description}`)
  if (missing.length > 0) parts.push(`${missing.length} span(s) carry no ${keyName}${failOnMissing ? '' : ' (ignored)'}`)
  const summary = parts.join('; ') + '.'
  return result(pass, summary.charAt(0).toUpperCase() + summary.slice(1), {
    selector: description,
    key: keyName,
    selected: selected.length,
    distinct: groups.size,
    repeatedValues: repeated.length,
    missingKey: missing.length,
    duplicatesLeftOut: index.duplicates,
    repeated: sampleOf(repeated, n).map(list => ({ value: plain(read(list[0] as Span)), spans: list.map(spanRef) })),
    withoutKey: sampleOf(missing, n).map(spanRef)
  })
}
