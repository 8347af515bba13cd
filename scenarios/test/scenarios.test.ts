// The scripts' sources, read as text: offline (no remote import), stock k6 modules only, every request
// through lib/http.ts (which sets tags.name and traceparent), and ES2020 once types are stripped. These
// hold for any k6 >= 1.3, 2.x included, which one real k6 run cannot show; k6.test.ts runs them.
import { describe, test, expect } from 'vitest'
import ts from 'typescript'
import * as acorn from 'acorn'
import { allSources, scriptFiles } from './helper.ts'

const STOCK = ['k6', 'k6/http', 'k6/metrics', 'k6/execution', 'k6/crypto', 'k6/encoding']
const SCRIPTS = ['idempotency.ts', 'load.ts', 'rate-limit-probe.ts', 'smoke.ts', 'sse-reconnect.ts']

interface Specifier { spec: string | undefined, how: string }

function stripComments (src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
}

/** Code without comments and without the contents of string literals: for scanning identifiers. */
function codeOnly (src: string): string {
  return stripComments(src).replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, "''")
}

/** Every module specifier a file loads: static import/export, side-effect import, import(), require(). */
function specifiers (src: string, withTypes = true): Specifier[] {
  let code = stripComments(src)
  // `import type` is erased before k6 sees the file.
  if (!withTypes) code = code.replace(/(^|[\s;])(import|export)\s+type\s[^'"`;]*?\sfrom\s*(['"`]).*?\3/g, '$1')
  const out: Specifier[] = []
  const push = (re: RegExp, how: string) => { for (const m of code.matchAll(re)) out.push({ spec: m[2], how }) }
  push(/(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s*(['"`])(.*?)\1/g, 'static')
  push(/(?:^|[\s;])import\s*(['"`])(.*?)\1/g, 'side-effect')
  push(/\bimport\s*\(\s*(['"`])(.*?)\1/g, 'dynamic')
  push(/\brequire\s*\(\s*(['"`])(.*?)\1/g, 'require')
  for (const m of code.matchAll(/\b(import|require)\s*\(\s*(?!['"`])/g)) out.push({ spec: undefined, how: `${m[1]}() of a computed specifier` })
  return out
}

function remote (src: string): Specifier[] {
  return specifiers(src).filter((s) => s.spec === undefined || /^https?:\/\//i.test(s.spec))
}

describe('offline', () => {
  test('the import detector flags every remote form it must catch', () => {
    expect(remote("import { textSummary } from 'https://jslib.k6.io/k6-summary/0.0.2/index.js'")).toHaveLength(1)
    expect(remote('import "http://example.com/x.js"')).toHaveLength(1)
    expect(remote("export * from 'https://example.com/x.js'")).toHaveLength(1)
    expect(remote('const m = await import("https://example.com/x.js")')).toHaveLength(1)
    expect(remote("const m = require('http://example.com/x.js')")).toHaveLength(1)
    expect(remote('const m = await import(url)')).toHaveLength(1)
    expect(remote("import http from 'k6/http'\n// see https://grafana.com/docs\nconst u = 'https://api.platform.tenzro.com'")).toHaveLength(0)
  })

  test('no file in scenarios/ imports code over http:// or https://, statically or dynamically', () => {
    const offenders = allSources()
      .filter(([p]) => !p.startsWith('test/'))
      .flatMap(([p, src]) => remote(src).map((s) => `${p}: ${s.how} ${s.spec ?? ''}`))
    expect(offenders).toEqual([])
  })

  test('the tests themselves load nothing remote either', () => {
    // This file holds the detector's own fixtures, as strings.
    const offenders = allSources()
      .filter(([p]) => p.startsWith('test/') && p !== 'test/scenarios.test.ts')
      .flatMap(([p, src]) => specifiers(src).filter((s) => s.spec !== undefined && /^https?:\/\//i.test(s.spec)).map((s) => `${p}: ${s.spec}`))
    expect(offenders).toEqual([])
  })

  test('scripts and lib import only stock k6 modules and relative files', () => {
    const offenders = allSources()
      .filter(([p]) => !p.startsWith('test/') && !p.endsWith('.d.ts'))
      .flatMap(([p, src]) => specifiers(src, false)
        .filter((s) => s.spec === undefined || !(STOCK.includes(s.spec) || /^\.\.?\/.*\.ts$/.test(s.spec)))
        .map((s) => `${p}: ${s.spec ?? s.how}`))
    expect(offenders).toEqual([])
  })

  test('no script calls k6/http directly: every request goes through lib/http.ts, which sets tags.name', () => {
    const offenders = allSources()
      .filter(([p]) => !p.startsWith('test/') && p !== 'lib/http.ts')
      .filter(([, src]) => /\bhttp\.(get|post|put|patch|del|head|options|request|batch|asyncRequest)\s*\(/.test(codeOnly(src)) || specifiers(src, false).some((s) => s.spec === 'k6/http'))
      .map(([p]) => p)
    expect(offenders).toEqual([])
  })

  test('the scripts use no Node or browser globals k6 lacks', () => {
    const offenders = allSources()
      .filter(([p]) => !p.startsWith('test/') && !p.endsWith('.d.ts'))
      .filter(([, src]) => /\b(process\.|Buffer\.|require\(|setTimeout\(|fetch\(|structuredClone\(|TextEncoder|window\.|document\.)/.test(codeOnly(src)))
      .map(([p]) => p)
    expect(offenders).toEqual([])
  })
})

describe('runs on stock k6', () => {
  test('the list of scripts is the one this test knows', () => {
    expect(scriptFiles()).toEqual(SCRIPTS)
  })

  test.each(SCRIPTS)('%s is ES2020 once its types are stripped, as k6 runs it', (file) => {
    const src = allSources().find(([p]) => p === file)![1]
    const js = ts.transpileModule(src, { compilerOptions: { target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true }, fileName: file }).outputText
    expect(() => acorn.parse(js, { ecmaVersion: 2020, sourceType: 'module' })).not.toThrow()
  })

  test('every lib file k6 loads is ES2020 once its types are stripped', () => {
    const libs = allSources().filter(([p]) => p.startsWith('lib/') && !p.endsWith('.d.ts'))
    expect(libs.length).toBeGreaterThan(5)
    for (const [p, src] of libs) {
      const js = ts.transpileModule(src, { compilerOptions: { target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true }, fileName: p }).outputText
      expect(() => acorn.parse(js, { ecmaVersion: 2020, sourceType: 'module' }), p).not.toThrow()
    }
  })
})
