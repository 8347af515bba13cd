// The reports of a real short run (issue 6 item 5): the HTML report opened in headless Chromium shows
// its three charts and a section per check and asks the network for nothing; the JUnit XML is well
// formed and has one testcase per check. The screenshot is kept in artifacts/report.png.
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { main } from '../src/cli.ts'
import type { HarnessReport } from '../src/report/index.ts'

const CHROMIUM = '/usr/bin/chromium'
const haveChromium = existsSync(CHROMIUM)
const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url))
const CLIENT = fileURLToPath(new URL('../../examples/clients/good-fetch.ts', import.meta.url))

let dir: string
let report: HarnessReport
let checkIds: string[]

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'report-html-'))
  // 6 s of the quick profile: drops, a refused reconnect and the first list faults; later checks skip.
  const said: string[] = []
  const code = await main(['verify', '--profile', 'quick', '--duration', '6', '--quiet', '--report-dir', dir, '--', process.execPath, CLIENT], { out: (l) => said.push(l), err: (l) => said.push(l), color: false })
  expect(code, said.join('')).toBe(0)
  report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as HarnessReport
  checkIds = report.suites.flatMap((s) => s.checks.map((c) => c.id))
}, 30_000)

describe('report.html in headless Chromium', () => {
  it.skipIf(!haveChromium && process.env.CI === undefined)('shows the three charts and every check, and loads nothing from the network', async () => {
    if (!haveChromium) throw new Error(`${CHROMIUM} is missing, and CI is set: install chromium`)
    const { chromium } = await import('playwright-core')
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']
    })
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
      const requested: string[] = []
      // Every request the page makes is recorded and refused: the report must be self-contained.
      await page.route('**/*', (route) => {
        requested.push(route.request().url())
        return route.abort()
      })
      // setContent: no document request, so every request the page makes would be for a resource.
      await page.setContent(readFileSync(join(dir, 'report.html'), 'utf8'), { waitUntil: 'load' })
      for (const chart of ['requests', 'latency', 'sse']) {
        const figure = page.locator(`figure[data-chart="${chart}"]`)
        expect(await figure.count(), chart).toBe(1)
        const shapes = await figure.locator('svg').evaluate((svg) => svg.querySelectorAll('polyline, rect, circle').length)
        expect(shapes, `${chart} chart has marks`).toBeGreaterThan(0)
        const box = await figure.locator('svg').boundingBox()
        expect(box!.width * box!.height, `${chart} chart has a size`).toBeGreaterThan(0)
      }
      expect(checkIds).toHaveLength(17)
      for (const id of checkIds) expect(await page.locator(`section[data-check-id="${id}"]`).count(), id).toBe(1)
      expect(await page.locator('section[data-check-id]').count()).toBe(checkIds.length)
      expect(requested).toEqual([])
      mkdirSync(ARTIFACTS, { recursive: true })
      await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true })
      expect(existsSync(join(ARTIFACTS, 'report.png'))).toBe(true)
      // The interception does see a page that loads something.
      await page.setContent('<img src="http://127.0.0.1:9/pixel.png">', { waitUntil: 'load' })
      expect(requested).toEqual(['http://127.0.0.1:9/pixel.png'])
    } finally {
      await browser.close()
    }
  })

  it.skipIf(haveChromium || process.env.CI !== undefined)('is skipped without Chromium', () => {
    console.log(`report-html: skipped the browser test: ${CHROMIUM} not found (set CI to make this a failure)`)
  })
})

describe('junit.xml', () => {
  it('is well-formed XML with one testcase per check, failures and skips marked', () => {
    const xml = readFileSync(join(dir, 'junit.xml'), 'utf8')
    const root = parseXml(xml)
    expect(root.name).toBe('testsuites')
    const suites = root.children.filter((c) => c.name === 'testsuite')
    expect(suites).toHaveLength(report.suites.length)
    const cases = suites.flatMap((s) => s.children.filter((c) => c.name === 'testcase'))
    expect(cases).toHaveLength(checkIds.length)
    for (const id of checkIds) expect(cases.filter((c) => c.attrs.name!.startsWith(`${id}: `)), id).toHaveLength(1)
    const all = report.suites.flatMap((s) => s.checks)
    const skipped = cases.filter((c) => c.children.some((x) => x.name === 'skipped')).length
    expect(skipped).toBe(all.filter((c) => c.status === 'skip').length)
    expect(Number(root.attrs.tests)).toBe(checkIds.length)
    expect(Number(root.attrs.skipped)).toBe(skipped)
  })

  it('is checked by a parser that rejects what is not well-formed', () => {
    expect(() => parseXml('<a><b></a></b>')).toThrow(/mismatched/)
    expect(() => parseXml('<a x="1 & 2"/>')).toThrow(/entity/)
    expect(() => parseXml('<a>1 < 2</a>')).toThrow()
    expect(() => parseXml('<a x=1/>')).toThrow(/quoted/)
    expect(() => parseXml('<a/><b/>')).toThrow(/one root/)
    expect(parseXml('<?xml version="1.0"?>\n<a x="&lt;&#38;&#x26;">t &amp; <b/></a>\n').children).toHaveLength(1)
  })
})

interface XmlNode { name: string, attrs: Record<string, string>, children: XmlNode[], text: string }

/**
 * A small well-formedness check of the XML JUnit emits (XML 1.0: one root, nested tags, quoted and
 * unique attributes, only the five predefined entities and character references, no stray `<` or `&`).
 * No DTDs, CDATA or processing instructions other than the declaration: renderJUnit writes none.
 */
function parseXml (xml: string): XmlNode {
  let i = 0
  const fail = (why: string): never => { throw new Error(`not well-formed at ${i}: ${why}`) }
  const NAME = /[A-Za-z_:][\w.:-]*/y
  const name = () => { NAME.lastIndex = i; const m = NAME.exec(xml); if (m === null) fail('a name'); i += m![0].length; return m![0] }
  const ws = () => { while (/\s/.test(xml[i] ?? '')) i++ }
  const text = (s: string) => {
    if (s.includes('<')) fail('< in text')
    return s.replace(/&([^;]*);?/g, (all, ent: string) => {
      if (!all.endsWith(';')) fail('entity without ;')
      if (/^#\d+$/.test(ent)) return String.fromCodePoint(Number(ent.slice(1)))
      if (/^#x[0-9a-fA-F]+$/.test(ent)) return String.fromCodePoint(parseInt(ent.slice(2), 16))
      const map: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' }
      if (map[ent] === undefined) fail(`unknown entity &${ent};`)
      return map[ent]!
    })
  }
  if (xml.startsWith('<?xml')) { i = xml.indexOf('?>'); if (i < 0) fail('declaration'); i += 2 }
  ws()
  const stack: XmlNode[] = []
  let root: XmlNode | undefined
  while (i < xml.length) {
    if (xml.startsWith('</', i)) {
      i += 2
      const n = name()
      ws()
      if (xml[i++] !== '>') fail('>')
      const top = stack.pop()
      if (top === undefined || top.name !== n) fail(`mismatched </${n}>`)
      if (stack.length === 0) { ws(); if (i < xml.length) fail('content after the root: one root only') }
      continue
    }
    if (xml.startsWith('<!--', i)) { const end = xml.indexOf('-->', i); if (end < 0) fail('comment'); i = end + 3; continue }
    if (xml[i] === '<') {
      i++
      const node: XmlNode = { name: name(), attrs: {}, children: [], text: '' }
      for (;;) {
        const before = i
        ws()
        if (xml.startsWith('/>', i) || xml[i] === '>') break
        if (i === before) fail('space before an attribute')
        const a = name()
        ws()
        if (xml[i++] !== '=') fail('=')
        ws()
        const q = xml[i]
        if (q !== '"' && q !== "'") fail('an attribute value must be quoted')
        const end = xml.indexOf(q!, i + 1)
        if (end < 0) fail('unterminated attribute')
        const raw = xml.slice(i + 1, end)
        if (raw.includes('<')) fail('< in an attribute')
        if (/&(?!(?:lt|gt|amp|apos|quot|#\d+|#x[0-9a-fA-F]+);)/.test(raw)) fail('bad entity in an attribute')
        if (a in node.attrs) fail(`duplicate attribute ${a}`)
        node.attrs[a] = text(raw)
        i = end + 1
      }
      if (root !== undefined && stack.length === 0) fail('a second element at the top: one root only')
      if (stack.length > 0) stack[stack.length - 1]!.children.push(node)
      else root = node
      if (xml.startsWith('/>', i)) {
        i += 2
        if (stack.length === 0) { ws(); if (i < xml.length) fail('content after the root: one root only') }
      } else { i++; stack.push(node) }
      continue
    }
    const next = xml.indexOf('<', i)
    const chunk = xml.slice(i, next < 0 ? xml.length : next)
    if (stack.length === 0) fail('text outside the root')
    stack[stack.length - 1]!.text += text(chunk)
    i += chunk.length
  }
  if (stack.length > 0) fail(`unclosed <${stack[stack.length - 1]!.name}>`)
  if (root === undefined) fail('no root element')
  return root!
}
