// Metric families whose samples are plain numbers in objects made once per label set. The request
// path finds its series through nested Maps keyed by the label values it already holds (a route
// pattern, a method, a status number, a tenant label) and adds to a number: no label object, no hash
// string, no allocation per request. prom-client's own `inc()`/`observe()` build and hash a label
// object per call (~350 ns each, four of them per request would be ~4 % of the mock's request).
// At scrape time each family hands prom-client's Registry the shape its metrics' `get()` returns, and
// prom-client writes the exposition (Prometheus text 0.0.4 or OpenMetrics 1.0, label escaping, exemplars).

export type LabelValue = string | number

/** One time series of a counter or gauge. */
export interface CounterCell { value: number }

/** One time series of a histogram. The latest exemplar per bucket is kept as three plain fields. */
export interface HistogramCell {
  counts: Float64Array
  sum: number
  count: number
  exemplarTrace: Array<string | undefined>
  exemplarValue: Float64Array
  exemplarTs: Float64Array
}

/** A sample as prom-client's Registry formats it (lib/registry.js getMetricsAsString). */
interface Sample {
  labels: Record<string, LabelValue>
  value: number
  metricName?: string
  exemplar?: { labelSet: Record<string, string>, value: number, timestamp: number }
}

/** What prom-client's Registry needs of a metric: `name`, `help`, `type`, `aggregator` and `get()`. */
export interface RegistryMetric {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
  aggregator: 'sum'
  get (): Promise<{ name: string, help: string, type: string, values: Sample[], aggregator: string }>
}

interface Node<C> { map: Map<LabelValue, Node<C>> | undefined, cell: C | undefined, labels: Record<string, LabelValue> | undefined }

/**
 * Series of one family, found by up to four label values without allocating once the series exists.
 * `make` builds a new series' cell the first time a combination is seen.
 */
class SeriesTree<C> {
  readonly labelNames: readonly string[]
  readonly #root: Node<C> = { map: undefined, cell: undefined, labels: undefined }
  readonly #make: () => C
  readonly all: Array<{ labels: Record<string, LabelValue>, cell: C }> = []

  constructor (labelNames: readonly string[], make: () => C) {
    if (labelNames.length > 4) throw new TypeError('at most four labels per family')
    this.labelNames = labelNames
    this.#make = make
  }

  get (a?: LabelValue, b?: LabelValue, c?: LabelValue, d?: LabelValue): C {
    const n = this.labelNames.length
    let node = this.#root
    if (n > 0) node = step(node, a!)
    if (n > 1) node = step(node, b!)
    if (n > 2) node = step(node, c!)
    if (n > 3) node = step(node, d!)
    let cell = node.cell
    if (cell === undefined) {
      cell = this.#make()
      node.cell = cell
      const labels: Record<string, LabelValue> = {}
      const values = [a, b, c, d]
      for (let i = 0; i < n; i++) labels[this.labelNames[i]!] = values[i]!
      this.all.push({ labels, cell })
    }
    return cell
  }
}

function step<C> (node: Node<C>, v: LabelValue): Node<C> {
  let map = node.map
  if (map === undefined) { map = new Map(); node.map = map }
  let next = map.get(v)
  if (next === undefined) { next = { map: undefined, cell: undefined, labels: undefined }; map.set(v, next) }
  return next
}

abstract class Family<C> {
  readonly name: string
  readonly help: string
  protected readonly tree: SeriesTree<C>

  constructor (name: string, help: string, labelNames: readonly string[], make: () => C) {
    this.name = name
    this.help = help
    this.tree = new SeriesTree(labelNames, make)
  }

  /** The series of these label values (made at its first use). Hold it to skip the lookup next time. */
  series (a?: LabelValue, b?: LabelValue, c?: LabelValue, d?: LabelValue): C {
    return this.tree.get(a, b, c, d)
  }

  protected abstract samples (): Sample[]
  abstract readonly type: RegistryMetric['type']

  /**
   * A fresh view for one Registry. prom-client renames counters in place for OpenMetrics (it strips
   * `_total` from `metric.name`), so each Registry gets its own view over the same series.
   */
  view (): RegistryMetric {
    const samples = () => this.samples()
    const { help, type } = this
    return {
      name: this.name,
      help,
      type,
      aggregator: 'sum',
      async get () {
        // `this.name`: the view's, which prom-client may have renamed.
        return { name: this.name, help, type, values: samples(), aggregator: 'sum' }
      }
    }
  }
}

/** A counter; `collect` (optional) sets its series just before each scrape, from counts kept elsewhere. */
export class CounterFamily extends Family<CounterCell> {
  readonly type = 'counter' as const
  readonly #collect: ((c: CounterFamily) => void) | undefined
  constructor (name: string, help: string, labelNames: readonly string[] = [], collect?: (c: CounterFamily) => void) {
    super(name, help, labelNames, () => ({ value: 0 }))
    this.#collect = collect
  }

  protected samples (): Sample[] {
    this.#collect?.(this)
    return this.tree.all.map(({ labels, cell }) => ({ labels, value: cell.value }))
  }
}

/** A gauge; `collect` (optional) sets its series just before each scrape. */
export class GaugeFamily extends Family<CounterCell> {
  readonly type = 'gauge' as const
  readonly #collect: ((g: GaugeFamily) => void) | undefined
  constructor (name: string, help: string, labelNames: readonly string[] = [], collect?: (g: GaugeFamily) => void) {
    super(name, help, labelNames, () => ({ value: 0 }))
    this.#collect = collect
  }

  protected samples (): Sample[] {
    this.#collect?.(this)
    return this.tree.all.map(({ labels, cell }) => ({ labels, value: cell.value }))
  }
}

export class HistogramFamily extends Family<HistogramCell> {
  readonly type = 'histogram' as const
  readonly bounds: Float64Array

  constructor (name: string, help: string, labelNames: readonly string[], bounds: readonly number[]) {
    const n = bounds.length + 1
    super(name, help, labelNames, () => ({
      counts: new Float64Array(n),
      sum: 0,
      count: 0,
      exemplarTrace: new Array<string | undefined>(n).fill(undefined),
      exemplarValue: new Float64Array(n),
      exemplarTs: new Float64Array(n)
    }))
    this.bounds = Float64Array.from(bounds)
    for (let i = 1; i < bounds.length; i++) if (!(bounds[i]! > bounds[i - 1]!)) throw new TypeError(`${name}: buckets must increase`)
  }

  /** Count `value` in `cell`; a trace id, when given, becomes the bucket's exemplar (OpenMetrics only). */
  observe (cell: HistogramCell, value: number, traceId?: string | null, nowMs?: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    cell.counts[i]!++
    cell.sum += value
    cell.count++
    if (traceId !== undefined && traceId !== null) {
      cell.exemplarTrace[i] = traceId
      cell.exemplarValue[i] = value
      cell.exemplarTs[i] = (nowMs ?? Date.now()) / 1000
    }
  }

  protected samples (): Sample[] {
    const out: Sample[] = []
    const bucket = this.name + '_bucket'
    const bounds = this.bounds
    for (const { labels, cell } of this.tree.all) {
      let acc = 0
      for (let i = 0; i <= bounds.length; i++) {
        acc += cell.counts[i]!
        const s: Sample = { labels: { ...labels, le: i < bounds.length ? bounds[i]! : '+Inf' }, value: acc, metricName: bucket }
        const trace = cell.exemplarTrace[i]
        if (trace !== undefined) s.exemplar = { labelSet: { trace_id: trace }, value: cell.exemplarValue[i]!, timestamp: cell.exemplarTs[i]! }
        out.push(s)
      }
      out.push({ labels, value: cell.sum, metricName: this.name + '_sum' })
      out.push({ labels, value: cell.count, metricName: this.name + '_count' })
    }
    return out
  }
}
