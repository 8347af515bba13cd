// Secrets verdict (seed: "Never log sensitive data", "Never expose API keys in client-side code"):
// the canary key is nowhere the client wrote, in any encoding or as a 12-character run of its secret,
// and no other Tenzro key matches the pattern rules.
import { createLeakScanner, type Finding, type LeakScanner } from '../scan/index.ts'
import { requestsOf, type Evidence } from '../evidence.ts'
import { skip, verdict, type CheckResult, type Violation } from './types.ts'

function spanText (e: Evidence): string {
  return e.spans.map((s) => JSON.stringify({ name: s.name, attributes: s.attributes, events: s.events, resource: s.resource, links: s.links, status: s.status }, (_k, v) => typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)).join('\n')
}

function describe (f: Finding): Violation {
  const what = f.kind === 'canary' ? `the canary key (${f.match === 'full' ? 'whole' : `${f.covered} chars of its secret`})` : `a Tenzro key (rule ${f.rule})`
  return { message: `${what} found ${f.encoding === 'raw' ? 'as is' : `${f.encoding}-encoded`} in ${f.source} line ${f.line}: ${f.preview}`, source: f.source, encoding: f.encoding, line: f.line }
}

export async function checkSecrets (e: Evidence, scanner: LeakScanner = createLeakScanner({ canaries: e.canaries })): Promise<CheckResult[]> {
  const findings: Finding[] = []
  for (const o of e.outputs) findings.push(...scanner.scan(o.text, o.source))
  const dirs: string[] = []
  for (const d of e.scanDirs) {
    const r = await scanner.scanDir(d)
    findings.push(...r.findings)
    dirs.push(d)
  }
  if (e.spans.length > 0) findings.push(...scanner.scan(spanText(e), 'spans'))
  const v = findings.map(describe)
  for (const r of requestsOf(e)) {
    if (r.secretInUrl === true) v.push({ message: `a key was sent in the URL of ${r.method} ${r.path}`, requestId: r.requestId, source: 'request URL' })
    if (r.secretInBody === true) v.push({ message: `a key was sent in the body of ${r.method} ${r.path}`, requestId: r.requestId, source: 'request body' })
  }
  const sources = e.outputs.map((o) => o.source).concat(dirs.map((d) => `dir:${d}`), e.spans.length > 0 ? ['spans'] : [])
  const bytes = e.outputs.reduce((n, o) => n + (typeof o.text === 'string' ? Buffer.byteLength(o.text) : o.text.length), 0)
  const title = 'The key never leaks (output, logs, files, spans, URLs, bodies)'
  // A leak fails whatever else happened; a clean scan counts only if the client used its key.
  if (v.length === 0 && requestsOf(e).length === 0) return [skip('secrets/no-leak', title, `the client made no request with its key (searched ${sources.length} sources, ${bytes} bytes: clean)`, { sources, bytesScanned: bytes })]
  return [verdict('secrets/no-leak', 'The key never leaks (output, logs, files, spans, URLs, bodies)', v,
    { sources, bytesScanned: bytes, spans: e.spans.length, rules: scanner.rules.length },
    `searched ${sources.length} sources (${bytes} bytes, ${e.spans.length} spans) raw, URL-encoded, base64, base64url, hex and as 12-char runs: clean`)]
}
