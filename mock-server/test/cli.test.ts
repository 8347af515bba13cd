// The `tenzro-mock` command (contract 7.5), run as a real child process: usage, exit codes (0 clean
// stop, 2 bad usage or config, 3 could not start), the one stdout line, serving, and SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { jsonOf } from './helper.ts'

const BIN = fileURLToPath(new URL('../../bin/tenzro-mock.js', import.meta.url))
const LISTENING = /^tenzro-mock listening on http:\/\/127\.0\.0\.1:(\d+)$/
const dir = mkdtempSync(join(tmpdir(), 'tenzro-cli-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

interface Run { child: ChildProcess, stdout: () => string, stderr: () => string, exit: Promise<{ code: number | null, signal: NodeJS.Signals | null }> }

function start (args: string[], env: Record<string, string> = {}): Run {
  // A clean environment: no TENZRO_MOCK_* from the caller's shell changes what is tested.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TENZRO_MOCK_')))
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr!.on('data', (c: Buffer) => { err += c.toString() })
  const exit = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })))
  return { child, stdout: () => out, stderr: () => err, exit }
}

async function runToExit (args: string[], env: Record<string, string> = {}) {
  const r = start(args, env)
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 10_000)
  const { code } = await r.exit
  clearTimeout(timer)
  return { code, stdout: r.stdout(), stderr: r.stderr() }
}

/** Resolves with the port once the one stdout line is out. */
function listening (r: Run): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${r.stderr()}`)), 10_000)
    const check = () => {
      const line = r.stdout().split('\n')[0]!
      const m = LISTENING.exec(line)
      if (m !== null && r.stdout().includes('\n')) { clearTimeout(timer); resolve(Number(m[1])) }
    }
    r.child.stdout!.on('data', check)
    r.exit.then(({ code }) => { clearTimeout(timer); reject(new Error(`exited ${code} before listening: ${r.stderr()}`)) }, reject)
  })
}

describe('tenzro-mock command line (contract 7.5)', () => {
  it('prints usage and exits 0 on --help', async () => {
    const [long, short] = await Promise.all([runToExit(['--help']), runToExit(['-h'])])
    for (const r of [long, short]) {
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/^tenzro-mock: /)
      expect(r.stdout).toContain('Usage: tenzro-mock [options]')
      for (const flag of ['--host', '--port', '--seed', '--control-token', '--config']) expect(r.stdout).toContain(flag)
      expect(r.stderr).toBe('')
    }
  })

  it('exits 2 with a clear message on an unknown flag or a bad value', async () => {
    const badConfig = join(dir, 'bad.json')
    writeFileSync(badConfig, '{"port": ')
    const unknownOption = join(dir, 'unknown.json')
    writeFileSync(unknownOption, JSON.stringify({ prot: 1 }))
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--bogus'], {}, /Unknown option '--bogus'/],
      [['--port', 'abc'], {}, /--port must be a whole number, got "abc"/],
      [['--port', '70000'], {}, /port: must be an integer 0\.\.65535/],
      [['--log-level', 'loud'], {}, /logLevel: must be/],
      [['--port'], {}, /--port/],
      [['extra-positional'], {}, /positional/i],
      [['--config', join(dir, 'missing.json')], {}, /cannot read config file .*missing\.json: ENOENT/],
      [['--config', badConfig], {}, /is not valid JSON/],
      [['--config', unknownOption], {}, /prot: unknown option/],
      [[], { TENZRO_MOCK_PORT: 'nope' }, /--port must be a whole number/],
      [['--workers', '0'], {}, /--workers must be 1\.\.256/],
      [['--workers', '2'], {}, /--workers 2 runs 2 processes, which serve as one mock only on shared backends; also pass --state redis:\/\/.*--rate-limit-store redis:\/\/.*--events nats:\/\//],
      [['--state', 'postgres://x'], {}, /state\.store: must be "memory" or a redis:\/\/ URL/]
    ]
    const results = await Promise.all(cases.map(([args, env]) => runToExit(args, env)))
    results.forEach((r, i) => {
      const [args, env, message] = cases[i]!
      expect(r.code, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toMatch(message)
      expect(r.stderr).toContain('tenzro-mock --help')
      expect(r.stdout).toBe('')
    })
  })

  it('listens on --port 0, prints exactly one stdout line, serves, and stops with exit 0 on SIGTERM', async () => {
    const r = start(['--port', '0', '--seed', '3', '--control-token', 'cli-test-token'])
    try {
      const port = await listening(r)
      expect(port).toBeGreaterThan(0)
      const base = `http://127.0.0.1:${port}`
      const health = await fetch(`${base}/health`)
      expect(health.status).toBe(200)
      expect((await jsonOf(health)).data).toEqual({ status: 'ok' })
      expect((await fetch(`${base}/__harness/faults`)).status).toBe(401)
      const tenant = await fetch(`${base}/__harness/tenants`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-harness-token': 'cli-test-token' }, body: '{}' })
      expect(tenant.status).toBe(201)
      const { data } = await jsonOf(tenant)
      const list = await fetch(`${base}/api/wallet/list?limit=1`, { headers: { 'x-api-key': data.key.key, 'x-tenant-id': data.tenant.slug } })
      expect(list.status).toBe(200)
      r.child.kill('SIGTERM')
      const { code, signal } = await r.exit
      expect(signal).toBeNull()
      expect(code).toBe(0)
      expect(r.stdout()).toBe(`tenzro-mock listening on http://127.0.0.1:${port}\n`)
      // Logs are JSON lines on standard error, never on standard output.
      const lines = r.stderr().split('\n').filter(Boolean)
      expect(lines.length).toBeGreaterThan(0)
      for (const l of lines) expect(() => JSON.parse(l)).not.toThrow()
      expect(r.stderr()).not.toContain(data.key.key)
    } finally {
      r.child.kill('SIGKILL')
    }
  })

  it('exits 3 when the port is taken, and when the record file cannot be opened', async () => {
    const blocker: Server = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    const noDir = join(dir, 'cfg-no-dir.json')
    writeFileSync(noDir, JSON.stringify({ port: 0, record: { file: join(dir, 'no', 'such', 'r.ndjson') } }))
    try {
      const [taken, spill] = await Promise.all([runToExit(['--port', String(port)]), runToExit(['--config', noDir])])
      expect(taken.code, taken.stderr).toBe(3)
      expect(taken.stderr).toMatch(/could not start: .*EADDRINUSE/)
      expect(taken.stdout).toBe('')
      expect(spill.code, spill.stderr).toBe(3)
      expect(spill.stderr).toMatch(/could not start: .*ENOENT/)
      expect(spill.stdout).toBe('')
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })
})
