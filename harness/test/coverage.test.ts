// Fault coverage (planned / matched / delivered to the client) in every report, the summary line that
// says when a fault never reached the client, and --strict, which turns a check that could not be
// exercised into a failure (exit 1).
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../src/cli.ts'
import { faultCoverage } from '../src/coverage.ts'
import type { AnyEntry } from '../src/evidence.ts'
import { applyStrict, renderConsole, renderHtml, renderJUnit, totals, type HarnessReport, type SuiteReport } from '../src/report/index.ts'
import type { FaultSpec } from '../../mock-server/src/domain/fault-plan.ts'

const KEY = 'key_AAAAAAAAAAAAAAAA'
const OTHER = 'key_BBBBBBBBBBBBBBBB'
let seq = 0
const e = (type: string, f: Record<string, unknown>): AnyEntry => ({ seq: ++seq, type, ts: 1000 + seq, keyId: KEY, ...f }) as AnyEntry

const FAULTS: FaultSpec[] = [
  { id: '500s', type: 'error', status: 500, times: 4 },
  { id: 'burst', type: 'rate-limit-burst', times: 1 },
  { id: 'lost', type: 'lost-response', times: 1 },
  { id: 'drop', type: 'sse-drop', afterEvents: 5, times: 1 },
  { id: 'dup', type: 'sse-duplicate', count: 3, times: 1 },
  { id: 'gap', type: 'sse-gap', times: 1 },
  { id: 'stall', type: 'sse-stall', afterEvents: 5, times: 1 },
  { id: 'slow', type: 'latency', ms: 5, probability: 0.5 }
]

describe('faultCoverage', () => {
  it('counts what reached the client, apart from what the plan matched', () => {
    const record: AnyEntry[] = [
      e('request', { status: 500, faults: ['500s', 'slow'] }),
      e('request', { status: 500, faults: ['500s'] }),
      e('request', { status: 500, faults: ['500s'], keyId: OTHER }), // another client: not this one's
      e('request', { status: 201, faults: ['lost'], lostResponse: true }),
      e('stream', { phase: 'open', streamId: 's1', faults: ['drop', 'stall'] }),
      e('drop', { streamId: 's1', reason: 'fault', labels: ['drop', 'stall'] }),
      // The duplicate matched a resume but nothing was re-sent: matched, not delivered.
      e('stream', { phase: 'open', streamId: 's2', faults: ['dup'] }),
      e('fault', { fault: 'sse-duplicate', streamId: 's2', labels: ['dup'] }),
      e('stream', { phase: 'open', streamId: 's3', faults: ['gap'] }),
      e('fault', { fault: 'sse-gap', streamId: 's3', labels: ['gap'] }),
      e('frame', { streamId: 's3', id: 40, event: 'stream.gap', from: 11, to: 40 })
    ]
    const stats = FAULTS.map((f) => ({ id: f.id!, type: f.type, seen: 9, applied: f.id === 'burst' ? 0 : f.id === 'slow' ? 1 : f.id === '500s' ? 3 : 1 }))
    const c = Object.fromEntries(faultCoverage(FAULTS, stats, record, [KEY]).map((x) => [x.id, x]))
    expect(c['500s']).toEqual({ id: '500s', type: 'error', planned: 4, matched: 3, delivered: 2 })
    expect(c.burst).toMatchObject({ matched: 0, delivered: 0 })
    expect(c.lost).toMatchObject({ delivered: 1 })
    expect(c.drop).toMatchObject({ delivered: 1 })
    expect(c.stall).toMatchObject({ matched: 1, delivered: 0 }) // the stream was cut before it stalled
    expect(c.dup).toMatchObject({ matched: 1, delivered: 0 })
    expect(c.gap).toMatchObject({ delivered: 1 })
    expect(c.slow).toMatchObject({ planned: null, delivered: 1 })
    // Once a duplicate frame is in the record, the duplicate counts as delivered.
    const withDup = [...record, e('frame', { streamId: 's2', id: 8, event: 'wallet.created', duplicate: true })]
    expect(faultCoverage(FAULTS, stats, withDup, [KEY]).find((x) => x.id === 'dup')!.delivered).toBe(1)
  })
})

function suite (coverage: SuiteReport['coverage']): SuiteReport {
  return {
    name: 'verify', description: 'd', startedAt: new Date(0).toISOString(), durationMs: 1000,
    checks: [
      { id: 'throttling/retry-after', title: 'No request before Retry-After elapsed', status: 'pass', summary: 'ok', evidence: {}, violations: [] },
      { id: 'reconnection/stall-detected', title: 'A silent (stalled) stream is detected', status: 'skip', requires: 'a stream stalled', summary: 'no stall early enough to judge', evidence: {}, violations: [] }
    ],
    coverage,
    series: { t0: 0, requests: [0], r429: [0], r5xx: [0] },
    latency: { boundsMs: [1], counts: [0], p50: 0, p95: 0, p99: 0 },
    timeline: [],
    stats: {}
  }
}
const report = (s: SuiteReport, strict = false): HarnessReport => ({ tool: 'tenzro-harness', version: '0', command: 'verify', startedAt: '', durationMs: 1000, target: 't', suites: [s], totals: totals([s]), ...(strict ? { strict } : {}) })

describe('coverage in the reports', () => {
  const cov = [
    { id: 'stall', type: 'sse-stall' as const, planned: 1, matched: 1, delivered: 0 },
    { id: '429-burst', type: 'rate-limit-burst' as const, planned: 2, matched: 2, delivered: 2 }
  ]

  it('console: a line per fault and a summary line that names the undelivered ones', () => {
    const out = renderConsole(report(suite(cov)))
    expect(out).toMatch(/fault coverage: planned \/ matched \/ delivered/)
    expect(out).toMatch(/! stall\s+sse-stall\s+1 \/\s+1 \/\s+0/)
    expect(out).toMatch(/1 passed, 0 failed, 0 errors, 1 skipped \(1\.0 s\); NOT ALL FAULTS DELIVERED: 1 of 2 reached the client \(missing: stall\)/)
    expect(renderConsole(report(suite([cov[1]!])))).toMatch(/; all 1 planned faults delivered to the client/)
  })

  it('console: says which faults reached the client only in part, with their counts', () => {
    const partly = { id: '500-persistent', type: 'error' as const, planned: 15, matched: 4, delivered: 4 }
    const out = renderConsole(report(suite([cov[1]!, partly])))
    expect(out).toMatch(/~ 500-persistent\s+error\s+15 \/\s+4 \/\s+4/)
    expect(out).toMatch(/; all 2 planned faults delivered to the client; 1 only in part: 500-persistent 4 of 15 times/)
    // A fault without a planned count (a latency with a probability) is never "in part".
    expect(renderConsole(report(suite([{ id: 'slow', type: 'latency' as const, planned: null, matched: 3, delivered: 3 }])))).not.toMatch(/only in part/)
  })

  it('JUnit: a property per fault and the undelivered ones in system-err', () => {
    const x = renderJUnit(report(suite(cov)))
    expect(x).toContain('<property name="fault.stall" value="type=sse-stall planned=1 matched=1 delivered=0"/>')
    expect(x).toContain('<property name="fault.429-burst" value="type=rate-limit-burst planned=2 matched=2 delivered=2"/>')
    expect(x).toContain('<system-err>faults of the plan not delivered to the client: stall</system-err>')
  })

  it('HTML and JSON: the coverage table and the summary', () => {
    const h = renderHtml(report(suite(cov)))
    expect(h).toContain('Fault coverage: 1 of 2 faults delivered to the client')
    expect(h).toMatch(/<tr class="missing" data-fault-id="stall"><td>stall<\/td><td>sse-stall<\/td><td>1<\/td><td>1<\/td><td>0<\/td><\/tr>/)
    expect(h).toContain('NOT ALL FAULTS DELIVERED')
    expect(JSON.parse(JSON.stringify(report(suite(cov)))).suites[0].coverage).toEqual(cov)
  })

  it('--strict turns a skipped check into a failure that says what was not exercised', () => {
    const s = suite(cov)
    applyStrict([s])
    const c = s.checks.find((x) => x.id === 'reconnection/stall-detected')!
    expect(c.status).toBe('fail')
    expect(c.summary).toBe('not exercised (--strict): no stall early enough to judge')
    expect(c.violations[0]!.message).toContain('needs: a stream stalled')
    expect(totals([s])).toEqual({ pass: 1, fail: 1, error: 0, skip: 0 })
  })
})

describe('verify --strict (real mock, real client process)', () => {
  // A client that lists wallets once a second and nothing else: under `calm` no fault reaches it, so
  // most checks cannot be judged. It passes by default and fails the gate with --strict.
  const client = "const h={'x-api-key':process.env.TENZRO_API_KEY,'x-tenant-id':process.env.TENZRO_TENANT_ID};setInterval(()=>fetch(process.env.TENZRO_API_URL+'/api/wallet/list',{headers:h}).then(r=>r.text()),500)"
  const run = async (...extra: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'strict-'))
    let out = ''
    const code = await main(['verify', '--profile', 'calm', '--duration', '2', '--quiet', '--report-dir', dir, ...extra, '--', process.execPath, '-e', client], { out: (s) => { out += s }, err: () => {}, color: false })
    return { code, out, json: JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as HarnessReport, junit: readFileSync(join(dir, 'junit.xml'), 'utf8') }
  }

  it('exits 0 with skips, and 1 with --strict, saying so in every report', async () => {
    const [plain, strict] = await Promise.all([run(), run('--strict')])
    expect(plain.code, plain.out).toBe(0)
    expect(plain.json.totals.skip).toBeGreaterThan(5)
    expect(strict.code, strict.out).toBe(1)
    expect(strict.json.strict).toBe(true)
    expect(strict.json.totals.skip).toBe(0)
    expect(strict.json.totals.fail).toBe(plain.json.totals.skip)
    expect(strict.out).toMatch(/FAIL reconnection\/stall-detected\s+not exercised \(--strict\)/)
    expect(strict.out).toMatch(/--strict: a check not exercised is a failure/)
    expect(strict.junit).toMatch(/<failure message="not exercised \(--strict\)/)
  }, 30_000)
})
