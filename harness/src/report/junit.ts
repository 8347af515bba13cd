// JUnit XML: one testsuite per scenario, one testcase per check; fail -> <failure>, error -> <error>,
// skip -> <skipped>. The schema CI systems read (Jenkins/GitLab/GitHub reporters).
import type { HarnessReport } from './model.ts'

export function xmlEscape (s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!)
    // XML 1.0 forbids most control characters, even escaped.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
}

export function renderJUnit (r: HarnessReport): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>']
  out.push(`<testsuites name="tenzro-harness ${xmlEscape(r.command)}" tests="${r.totals.pass + r.totals.fail + r.totals.error + r.totals.skip}" failures="${r.totals.fail}" errors="${r.totals.error}" skipped="${r.totals.skip}" time="${(r.durationMs / 1000).toFixed(3)}">`)
  for (const s of r.suites) {
    const c = { fail: 0, error: 0, skip: 0 }
    for (const k of s.checks) if (k.status !== 'pass') c[k.status]++
    out.push(`  <testsuite name="${xmlEscape(s.name)}" tests="${s.checks.length}" failures="${c.fail}" errors="${c.error}" skipped="${c.skip}" timestamp="${xmlEscape(s.startedAt)}" time="${(s.durationMs / 1000).toFixed(3)}">`)
    // Fault coverage as testsuite properties, one per fault: what CI reporters show beside the cases.
    if ((s.coverage ?? []).length > 0) {
      out.push('    <properties>')
      for (const f of s.coverage!) {
        out.push(`      <property name="${xmlEscape(`fault.${f.id}`)}" value="${xmlEscape(`type=${f.type} planned=${f.planned ?? 'any'} matched=${f.matched} delivered=${f.delivered}`)}"/>`)
      }
      out.push('    </properties>')
    }
    for (const k of s.checks) {
      out.push(`    <testcase classname="${xmlEscape(`${s.name}.${k.id.split('/')[0]}`)}" name="${xmlEscape(`${k.id}: ${k.title}`)}" time="0">`)
      const body = xmlEscape([k.summary, ...k.violations.map((v) => '- ' + v.message), 'evidence: ' + JSON.stringify(k.evidence)].join('\n'))
      if (k.status === 'fail') out.push(`      <failure message="${xmlEscape(k.summary)}" type="${xmlEscape(k.id)}">${body}</failure>`)
      else if (k.status === 'error') out.push(`      <error message="${xmlEscape(k.summary)}" type="${xmlEscape(k.id)}">${body}</error>`)
      else if (k.status === 'skip') out.push(`      <skipped message="${xmlEscape(k.summary)}"/>`)
      else out.push(`      <system-out>${body}</system-out>`)
      out.push('    </testcase>')
    }
    const missing = (s.coverage ?? []).filter((f) => f.delivered === 0)
    if (missing.length > 0) out.push(`    <system-err>${xmlEscape(`faults of the plan not delivered to the client: ${missing.map((f) => f.id).join(', ')}`)}</system-err>`)
    out.push('  </testsuite>')
  }
  out.push('</testsuites>')
  return out.join('\n') + '\n'
}
