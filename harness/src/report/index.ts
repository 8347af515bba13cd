import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { renderHtml } from './html.ts'
import { renderJUnit } from './junit.ts'
import type { HarnessReport } from './model.ts'

export { renderConsole } from './console.ts'
export { renderHtml } from './html.ts'
export { renderJUnit, xmlEscape } from './junit.ts'
export { applyStrict, summariseRecord, totals, undeliveredFaults } from './model.ts'
export type { HarnessReport, SuiteReport, TimelinePoint } from './model.ts'

/** Write report.json, junit.xml and report.html into `dir`; returns their paths. */
export function writeReports (r: HarnessReport, dir: string): { json: string, junit: string, html: string } {
  mkdirSync(dir, { recursive: true })
  const paths = { json: join(dir, 'report.json'), junit: join(dir, 'junit.xml'), html: join(dir, 'report.html') }
  writeFileSync(paths.json, JSON.stringify(r, null, 2) + '\n')
  writeFileSync(paths.junit, renderJUnit(r))
  writeFileSync(paths.html, renderHtml(r))
  return paths
}
