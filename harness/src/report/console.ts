// The console summary: one line per check, then totals and where the reports are.
import type { HarnessReport } from './model.ts'

const MARK = { pass: 'PASS', fail: 'FAIL', error: 'ERR ', skip: 'skip' } as const

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
  }
  const t = r.totals
  lines.push('', `${t.pass} passed, ${t.fail} failed, ${t.error} errors, ${t.skip} skipped (${(r.durationMs / 1000).toFixed(1)} s)`)
  for (const p of paths) lines.push(`report: ${p}`)
  return lines.join('\n') + '\n'
}
