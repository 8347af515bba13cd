// The console summary: one line per check, the fault coverage, then totals and where the reports are.
import type { FaultCoverage } from '../coverage.ts'
import { partlyDeliveredFaults, undeliveredFaults, type HarnessReport } from './model.ts'

const MARK = { pass: 'PASS', fail: 'FAIL', error: 'ERR ', skip: 'SKIP' } as const

const n = (x: number | null) => (x === null ? 'any' : String(x))

/** One line per fault: planned / matched / delivered to the client under test. */
export function coverageLines (c: readonly FaultCoverage[]): string[] {
  if (c.length === 0) return []
  const lines = ['  fault coverage: planned / matched / delivered to this client']
  for (const f of c) lines.push(`    ${f.delivered === 0 ? '!' : f.planned !== null && f.delivered < f.planned ? '~' : ' '} ${f.id.padEnd(26)} ${f.type.padEnd(17)} ${n(f.planned).padStart(4)} / ${String(f.matched).padStart(4)} / ${String(f.delivered).padStart(4)}`)
  return lines
}

/** The totals line; names the faults that never reached the client. */
export function summaryLine (r: HarnessReport): string {
  const t = r.totals
  let line = `${t.pass} passed, ${t.fail} failed, ${t.error} errors, ${t.skip} skipped (${(r.durationMs / 1000).toFixed(1)} s)`
  const planned = r.suites.reduce((k, s) => k + (s.coverage?.length ?? 0), 0)
  if (planned > 0) {
    const missing = undeliveredFaults(r.suites)
    line += missing.length === 0
      ? `; all ${planned} planned faults delivered to the client`
      : `; NOT ALL FAULTS DELIVERED: ${planned - missing.length} of ${planned} reached the client (missing: ${missing.join(', ')})`
    const partly = partlyDeliveredFaults(r.suites)
    if (partly.length > 0) line += `; ${partly.length} only in part: ${partly.join(', ')} times`
  }
  if (r.strict === true) line += '; --strict: a check not exercised is a failure'
  return line
}

export function renderConsole (r: HarnessReport, { color = false, paths = [] as string[] } = {}): string {
  const paint = (s: string, code: number) => (color ? `\u001b[${code}m${s}\u001b[0m` : s)
  const lines: string[] = []
  for (const s of r.suites) {
    lines.push('', paint(`${s.name}`, 1) + ` (${(s.durationMs / 1000).toFixed(1)} s) ${s.description}`)
    for (const c of s.checks) {
      const m = MARK[c.status]
      const col = c.status === 'pass' ? 32 : c.status === 'skip' ? 90 : 31
      lines.push(`  ${paint(m, col)} ${c.id.padEnd(34)} ${c.summary}`)
      for (const v of c.violations.slice(0, 3)) lines.push(`         - ${v.message}`)
      if (c.violations.length > 3) lines.push(`         - ... ${c.violations.length - 3} more in the report`)
    }
    lines.push(...coverageLines(s.coverage ?? []))
  }
  lines.push('', summaryLine(r))
  for (const p of paths) lines.push(`report: ${p}`)
  return lines.join('\n') + '\n'
}
