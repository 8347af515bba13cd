// The layout rules a reader relies on, checked on the import graph parsed from the sources (house
// style, "Layout"): the framework-free core in mock-server/src/domain imports nothing above it, no
// module imports itself back through others, and no file of the mock grows past what a reader takes
// in at once. Static and dynamic imports and re-exports count, type-only ones too: a type cycle still
// means two files that cannot be read apart.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '..')
const SOURCE_DIRS = ['mock-server/src', 'harness/src']
const MAX_LINES = 400

function tsFiles (dir: string): string[] {
  const out: string[] = []
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name)
    if (d.isDirectory()) out.push(...tsFiles(p))
    else if (d.name.endsWith('.ts') && !d.name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

const IMPORT_RE = /(?:^|[\s;}])(?:import|export)\s+(?:type\s+)?(?:[\w*\s{},$]*?\s+from\s+)?['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g

/** Every module specifier a file imports or re-exports, with comments taken out. */
export function specifiers (source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
  const out: string[] = []
  for (const m of code.matchAll(IMPORT_RE)) out.push((m[1] ?? m[2])!)
  return out
}

interface Graph { files: string[], edges: Map<string, string[]>, external: Map<string, string[]> }

function buildGraph (): Graph {
  const files = SOURCE_DIRS.flatMap((d) => tsFiles(join(ROOT, d))).map((f) => relative(ROOT, f).split(sep).join('/'))
  const edges = new Map<string, string[]>()
  const external = new Map<string, string[]>()
  for (const f of files) {
    const local: string[] = []
    const ext: string[] = []
    for (const s of specifiers(readFileSync(join(ROOT, f), 'utf8'))) {
      if (s.startsWith('.')) local.push(relative(ROOT, resolve(ROOT, dirname(f), s)).split(sep).join('/'))
      else ext.push(s)
    }
    edges.set(f, local)
    external.set(f, ext)
  }
  return { files, edges, external }
}

/** Each cycle once, as the list of files around it (Tarjan's strongly connected components). */
function cycles (g: Graph): string[][] {
  let index = 0
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const on = new Set<string>()
  const out: string[][] = []
  function visit (v: string): void {
    idx.set(v, index); low.set(v, index); index++
    stack.push(v); on.add(v)
    for (const w of g.edges.get(v) ?? []) {
      if (!g.edges.has(w)) continue
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)) } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!))
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = []
      let w: string
      do { w = stack.pop()!; on.delete(w); scc.push(w) } while (w !== v)
      if (scc.length > 1 || (g.edges.get(v) ?? []).includes(v)) out.push(scc.sort())
    }
  }
  for (const f of g.files) if (!idx.has(f)) visit(f)
  return out
}

const DOMAIN = 'mock-server/src/domain/'
/** What sits above the core: transports, the config loader, the app's context, request validation. */
const ABOVE_DOMAIN = [
  /^mock-server\/src\/(sse|plugins|routes|pipeline|msw|telemetry)\//,
  /^mock-server\/src\/(config|context|validate|types|app|server|index|envelope|logger)\.ts$/
]
const FRAMEWORKS = /^(fastify|fastify-plugin|@fastify\/|msw|pino|@opentelemetry\/)/

describe('import graph', () => {
  const g = buildGraph()

  it('reads the imports of every source file', () => {
    expect(g.files.length).toBeGreaterThan(50)
    expect(specifiers("import type { A } from './a.ts'\nexport { b } from \"../b.ts\"\n// import x from './no.ts'\nconst m = await import('./c.ts')"))
      .toEqual(['./a.ts', '../b.ts', './c.ts'])
    // Every local import resolves to a file that exists: a rule cannot pass by not seeing an edge.
    for (const [f, to] of g.edges) for (const t of to) expect(g.edges.has(t) || !t.endsWith('.ts'), `${f} imports ${t}`).toBe(true)
  })

  it('domain/ imports nothing above it', () => {
    const bad: string[] = []
    for (const f of g.files.filter((f) => f.startsWith(DOMAIN))) {
      for (const t of g.edges.get(f)!) if (ABOVE_DOMAIN.some((re) => re.test(t))) bad.push(`${f} -> ${t}`)
      for (const s of g.external.get(f)!) if (FRAMEWORKS.test(s)) bad.push(`${f} -> ${s}`)
    }
    expect(bad).toEqual([])
  })

  it('has no import cycle', () => {
    expect(cycles(g)).toEqual([])
  })

  it('finds a cycle when there is one', () => {
    const files = ['a.ts', 'b.ts', 'c.ts']
    expect(cycles({ files, edges: new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']]]), external: new Map() })).toEqual([files])
  })

  it(`keeps every file of mock-server/src at ${MAX_LINES} lines or fewer`, () => {
    const long = g.files.filter((f) => f.startsWith('mock-server/src/'))
      .map((f) => ({ f, lines: readFileSync(join(ROOT, f), 'utf8').split('\n').length - 1 }))
      .filter((x) => x.lines > MAX_LINES)
    expect(long).toEqual([])
  })
})
