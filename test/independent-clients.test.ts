// Clients written from the README and docs/api.md only, by someone who never read the harness's code
// (test/independent-clients/README.md), each run through the CLI as a user runs it:
// `tenzro-harness verify --profile <p> --report-dir <tmp> -- <cmd>`. Each must get its exit code and
// fail exactly the checks of its own failure mode (read from report.json), no more, no fewer.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..')
const clients = join(root, 'test', 'independent-clients')
const POOL = Math.max(1, Number(process.env.INDEPENDENT_CLIENTS_POOL ?? 4))

interface Case {
  client: string
  profile: 'default' | 'rotation' | 'hostile' | 'environments' | 'shared-key' | 'drill incident'
  exit: number
  fails: string[]
}

// The default profile's cases first (about 65 s each), then the drills and the noisy neighbour (12-30 s).
const cases: Case[] = [
  { client: 'good-node.mjs', profile: 'default', exit: 0, fails: [] },
  { client: 'good-python.py', profile: 'default', exit: 0, fails: [] },
  { client: 'dup-jitter.mjs', profile: 'default', exit: 1, fails: ['idempotency/events-once'] },
  { client: 'ignores-retry-after.mjs', profile: 'default', exit: 1, fails: ['throttling/retry-after'] },
  { client: 'no-resume.py', profile: 'default', exit: 1, fails: ['reconnection/last-event-id'] },
  { client: 'leaks-key.mjs', profile: 'default', exit: 1, fails: ['secrets/no-leak'] },
  // it retries the REST calls and reconnects the stream every 10 ms after the 401: both loops are hot
  { client: 'hammers-401.mjs', profile: 'default', exit: 1, fails: ['auth/no-hot-loop-after-401', 'reconnection/no-hot-loop'] },
  { client: 'no-jitter.mjs', profile: 'default', exit: 1, fails: ['throttling/backoff'] },
  { client: 'good-node.mjs', profile: 'rotation', exit: 0, fails: [] },
  { client: 'reads-key-once.mjs', profile: 'rotation', exit: 1, fails: ['auth/survives-rotation'] },
  { client: 'good-python.py', profile: 'hostile', exit: 0, fails: [] },
  { client: 'crashes-on-hostile.mjs', profile: 'hostile', exit: 1, fails: ['input/survives-hostile'] },
  { client: 'good-node.mjs', profile: 'environments', exit: 0, fails: [] },
  // the noisy neighbour's real 429s: a client that waits Retry-After passes, one that ignores it is caught
  { client: 'good-python.py', profile: 'shared-key', exit: 0, fails: [] },
  { client: 'ignores-retry-after.mjs', profile: 'shared-key', exit: 1, fails: ['throttling/retry-after'] },
  { client: 'good-node.mjs', profile: 'drill incident', exit: 0, fails: [] },
  { client: 'hammers-401.mjs', profile: 'drill incident', exit: 1, fails: ['incident/client-stops', 'auth/no-hot-loop-after-401'] }
]

function findPython(): string | null {
  for (const candidate of ['python3', 'python']) {
    const r = spawnSync(candidate, ['-c', 'import sys; assert sys.version_info >= (3, 8)'], { stdio: 'ignore' })
    if (r.status === 0) return candidate
  }
  return null
}
const python = findPython()
const needsPython = cases.some((c) => c.client.endsWith('.py'))
if (needsPython && !python) {
  const reason = 'python3 (>= 3.8) not found on PATH: the Python independent clients are skipped'
  if (process.env.CI) throw new Error(`${reason}; under CI this is a failure`)
  console.warn(`independent-clients: ${reason}`)
}

// a pool of POOL concurrent harness runs
let running = 0
const waiting: Array<() => void> = []
async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= POOL) await new Promise<void>((resolve) => waiting.push(resolve))
  running++
  try {
    return await fn()
  } finally {
    running--
    waiting.shift()?.()
  }
}

interface Check { id: string; status: 'pass' | 'fail' | 'error' | 'skip'; summary: string }
interface Report { suites: Array<{ checks: Check[] }> }
interface Run { code: number | null; output: string; checks: Check[]; reportDir: string }

// report directories of runs that met their expectation are removed; the others are kept as evidence
const passedDirs: string[] = []
afterAll(() => { for (const d of passedDirs) rmSync(d, { recursive: true, force: true }) })

function verify(c: Case): Promise<Run> {
  const reportDir = mkdtempSync(join(tmpdir(), 'tenzro-indep-'))
  const file = join(clients, c.client)
  const cmd = c.client.endsWith('.py') ? [python!, file] : [process.execPath, file]
  const head = c.profile === 'drill incident' ? ['drill', 'incident'] : ['verify', '--profile', c.profile]
  const args = [join(root, 'bin', 'tenzro-harness.js'), ...head, '--report-dir', reportDir, '--quiet', '--', ...cmd]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d: Buffer) => { output += d.toString() })
    child.stderr.on('data', (d: Buffer) => { output += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => {
      let checks: Check[] = []
      try {
        const report = JSON.parse(readFileSync(join(reportDir, 'report.json'), 'utf8')) as Report
        checks = report.suites.flatMap((s) => s.checks)
      } catch {
        /* no report: the exit code and the output say why */
      }
      resolve({ code, output, checks, reportDir })
    })
  })
}

const PROFILES_THAT_REVOKE = new Set(['default', 'rotation', 'shared-key', 'drill incident'])

// each test waits for a slot first: its timeout covers the rounds ahead of it, then its own run
const ROUND_MS = 110_000

describe('independent clients, written from the docs only, judged by `tenzro-harness verify`', () => {
  cases.forEach((c, i) => {
    const skip = c.client.endsWith('.py') && !python
    const timeout = ROUND_MS * (Math.floor(i / POOL) + 1) + 30_000
    const expected = c.fails.length ? `fails only ${c.fails.join(', ')}` : 'passes'
    const test = skip ? it.skip : it.concurrent
    test(`${c.client} under ${c.profile}: exit ${c.exit}, ${expected}`, async () => {
      const run = await withSlot(() => verify(c))
      const failed = run.checks.filter((k) => k.status === 'fail' || k.status === 'error')
      const detail = `${c.client} under ${c.profile}, exit ${run.code} (report kept in ${run.reportDir}):\n${run.output}`
      expect(run.checks.length, detail).toBeGreaterThan(0)
      expect(failed.map((k) => k.id).sort(), detail).toEqual([...c.fails].sort())
      expect(run.code, detail).toBe(c.exit)
      // the rotation profile revokes the old key (the console says so): a skip must not say it does not
      const after401 = run.checks.find((k) => k.id === 'auth/no-hot-loop-after-401')
      if (PROFILES_THAT_REVOKE.has(c.profile) && after401?.status === 'skip') {
        expect(after401.summary, detail).not.toMatch(/does not revoke/)
      }
      passedDirs.push(run.reportDir)
    }, timeout)
  })
})
