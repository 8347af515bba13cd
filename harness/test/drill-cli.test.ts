// The drills' command line: help for `drill` and `drill incident`, the drill profiles in `profiles` and
// in `verify --help`, and bad usage refused with exit 2 and a message that names the problem.
import { describe, expect, it } from 'vitest'
import { main } from '../src/cli.ts'

async function cli (...argv: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await main(argv, { out: (s) => { out += s }, err: (s) => { err += s }, color: false })
  return { code, out, err }
}

describe('tenzro-harness drill', () => {
  it('explains itself: drill --help, drill incident --help, and the main help names it', async () => {
    const d = await cli('drill', '--help')
    expect(d.code).toBe(0)
    expect(d.out).toMatch(/incident\s+revoke every key of the tenant/)
    expect(d.out).toMatch(/--profile rotation, hostile, environments/)
    const i = await cli('drill', 'incident', '--help')
    expect(i.code).toBe(0)
    for (const s of ['--revoke-at', '--sentinels', '--heartbeat-ms', '--target', '--strict', 'audit.ndjson', 'incident/streams-closed', 'incident/client-stops']) expect(i.out).toContain(s)
    expect((await cli('--help')).out).toContain('tenzro-harness drill incident')
    expect((await cli('drill')).code).toBe(2)
  })

  it('lists the drill profiles in `profiles` and documents their variables in `verify --help`', async () => {
    const p = await cli('profiles')
    for (const name of ['rotation', 'hostile', 'environments', 'incident']) expect(p.out).toMatch(new RegExp(`^${name}\\s+\\d+ s`, 'm'))
    expect(p.out).toMatch(/grace|revoked/)
    const v = await cli('verify', '--help')
    expect(v.out).toContain('TENZRO_API_KEY_FILE')
    expect(v.out).toContain('TENZRO_NETWORK')
    expect(v.out).toContain('audit.ndjson')
    const r = await cli('run', '--help')
    expect(r.out).toMatch(/Drills \(by name\): rotation, hostile, environments, incident/)
  })

  it('--strict: a client that goes quiet before the revocation passes the drill, and fails the gate for what was not exercised', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    // One list request, then silence: it never meets a 401, so the checks that need one skip.
    const quiet = "const e = process.env; await fetch(e.TENZRO_API_URL + '/api/wallet/list', { headers: { 'X-API-Key': e.TENZRO_API_KEY, 'X-Tenant-Id': e.TENZRO_TENANT_ID } }).then((r) => r.arrayBuffer()); setInterval(() => {}, 1000)"
    const run = async (...extra: string[]) => {
      const dir = mkdtempSync(join(tmpdir(), 'drill-strict-'))
      const r = await cli('drill', 'incident', '--quiet', '--duration', '4', '--revoke-at', '2', '--sentinels', '0', '--report-dir', dir, ...extra, '--', process.execPath, '--input-type=module', '-e', quiet)
      return { ...r, report: JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { strict?: boolean, suites: Array<{ checks: Array<{ id: string, status: string, summary: string }> }> } }
    }
    const [plain, strict] = await Promise.all([run(), run('--strict')])
    const hot = (r: typeof plain) => r.report.suites[0]!.checks.find((c) => c.id === 'auth/no-hot-loop-after-401')!
    expect(plain.code, plain.out).toBe(0)
    expect(hot(plain).status).toBe('skip')
    expect(strict.code, strict.out).toBe(1)
    expect(strict.report.strict).toBe(true)
    expect(hot(strict).status).toBe('fail')
    expect(hot(strict).summary).toMatch(/^not exercised \(--strict\): no request was refused with 401/)
    expect(strict.out).toMatch(/--strict: a check not exercised is a failure/)
  }, 30_000)

  it('refuses bad usage with exit 2', async () => {
    const unknown = await cli('drill', 'fire', '--', 'node', 'x.js')
    expect(unknown.code).toBe(2)
    expect(unknown.err).toMatch(/unknown drill "fire"/)
    const late = await cli('drill', 'incident', '--revoke-at', '20', '--duration', '10', '--', 'node', 'x.js')
    expect(late.code).toBe(2)
    expect(late.err).toMatch(/--revoke-at \(20 s\) must come before the end of the run/)
    expect((await cli('drill', 'incident')).err).toMatch(/no client command/)
    expect((await cli('drill', 'incident', '--sentinels', '99', '--', 'node', 'x.js')).err).toMatch(/--sentinels must be a whole number 0..10/)
  })
})
