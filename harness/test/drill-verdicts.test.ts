// The drills judged on their example clients (real mock on 127.0.0.1:0, real client processes, the
// CLI's main()): every case of bench/drill-verdicts.ts gets exactly its expected verdicts and exit
// code. `node bench/drill-verdicts.ts 3` repeats them to show the verdicts do not change between runs.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { DRILL_CASES, runDrillCase } from '../../bench/drill-verdicts.ts'
import { EXAMPLES_DIR, pool, summarise, type ExampleRun } from '../../bench/verdicts.ts'
import { PROFILES } from '../src/profiles.ts'

const concurrency = Number(process.env.DRILL_CONCURRENCY ?? 7)
const runs = new Map<string, ExampleRun>()

describe('the drills on their example clients', () => {
  beforeAll(async () => {
    const names = Object.keys(DRILL_CASES)
    for (const r of await pool(names, concurrency, (n) => runDrillCase(n))) runs.set(r.name, r)
  }, 400_000)

  it('judges every drill example client at least once, and every drill profile', () => {
    const clients = readdirSync(join(EXAMPLES_DIR, 'drills')).filter((f) => f.endsWith('.ts')).map((f) => `drills/${f.slice(0, -3)}`)
    const judged = new Set(Object.values(DRILL_CASES).map((c) => c.client))
    for (const c of clients) expect(judged, c).toContain(c)
    const profiles = new Set(Object.values(DRILL_CASES).map((c) => c.profile))
    for (const p of ['rotation', 'hostile', 'environments', 'drill incident']) expect(profiles).toContain(p)
    expect(PROFILES.rotation?.drill?.rotation?.graceS).toBe(5)
  })

  it.each(Object.entries(DRILL_CASES))('%s gets exactly its expected verdicts', (name, want) => {
    const run = runs.get(name)!
    const detail = `${name}: ${summarise(run.verdicts)}\n${run.out}\n${run.err}`
    const ids = Object.keys(run.verdicts)
    expect(ids.length, detail).toBeGreaterThan(0)
    for (const id of [...want.fail, ...want.skip ?? []]) expect(ids, detail).toContain(id)
    const expected: Record<string, string> = {}
    for (const id of ids) expected[id] = want.fail.includes(id) ? 'fail' : want.skip?.includes(id) === true ? 'skip' : 'pass'
    expect(run.verdicts, detail).toEqual(expected)
    expect(run.exitCode, detail).toBe(want.fail.length > 0 ? 1 : 0)
  })

  it('writes the audit trail of the incident drill: one line per authentication attempt, never a key', async () => {
    const run = runs.get('incident/good')!
    const { readFileSync } = await import('node:fs')
    const lines = readFileSync(join(run.reportDir, 'audit.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.length).toBeGreaterThan(3)
    expect(lines.some((l) => l.outcome === 'refused' && l.code === 'revoked_api_key')).toBe(true)
    for (const l of lines) {
      expect(Object.keys(l).sort()).toEqual(['code', 'keyId', 'method', 'network', 'outcome', 'requestId', 'route', 'source', 'status', 'time'])
      expect(JSON.stringify(l)).not.toMatch(/tnz_[a-z0-9]+_/)
    }
    const html = readFileSync(join(run.reportDir, 'report.html'), 'utf8')
    expect(html).toContain('data-timeline="incident"')
    expect(html).toMatch(/every key of the tenant revoked at once/)
  })
})
