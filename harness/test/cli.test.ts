// The command line's contract (harness/src/cli.ts): help on every subcommand exits 0; bad usage exits
// 2 with a message that names the problem; a client or a mock that cannot be reached exits 3. Through
// main() with captured output; the exit-3 cases start the real embedded mock and a real process.
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { EXIT, main } from '../src/cli.ts'

async function cli (...argv: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await main(argv, { out: (s) => { out += s }, err: (s) => { err += s }, color: false })
  return { code, out, err }
}

/** A loopback port that was free a moment ago and has nothing listening now. */
async function closedPort (): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as { port: number }).port
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

describe('tenzro-harness --help', () => {
  it.each([
    [['--help'], /Usage:\n {2}tenzro-harness run/],
    [['-h'], /Usage:/],
    [['help'], /Usage:/],
    [['run', '--help'], /^tenzro-harness run \[scenario\.\.\.\] \[options\][\s\S]*Options:[\s\S]*--report-dir/],
    [['run', '-h'], /^tenzro-harness run/],
    [['verify', '--help'], /^tenzro-harness verify \[options\] -- <command> \[args\.\.\.\][\s\S]*TENZRO_API_KEY[\s\S]*--profile/],
    [['verify', '--profile', 'quick', '-h'], /^tenzro-harness verify/],
    [['profiles', '--help'], /^tenzro-harness profiles[\s\S]*Options:/]
  ])('%j exits 0 and shows usage', async (argv, usage) => {
    const r = await cli(...argv)
    expect(r.code).toBe(EXIT.pass)
    expect(r.out).toMatch(usage)
    expect(r.err).toBe('')
  })

  it('shows the usage and exits 2 without a command', async () => {
    const r = await cli()
    expect(r.code).toBe(EXIT.usage)
    expect(r.out).toMatch(/Usage:/)
  })

  it('lists the profiles, quick among them, and prints its version', async () => {
    const p = await cli('profiles')
    expect(p.code).toBe(EXIT.pass)
    expect(p.out).toMatch(/^default\s+66 s/m)
    expect(p.out).toMatch(/^quick\s+37 s/m)
    expect(p.out).toMatch(/^shared-key\s+30 s\s+a noisy neighbour/m)
    const v = await cli('--version')
    expect(v).toMatchObject({ code: EXIT.pass, out: '0.1.0\n' })
  })
})

describe('bad usage exits 2 with a message', () => {
  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['run', '--bogus'], /Unknown option '--bogus'/],
    [['run', 'nosuch', 'throttling'], /unknown scenario\(s\) nosuch; known: throttling, reconnection/],
    [['run', '--seed=abc'], /--seed must be a whole number 0\.\.4294967295, got "abc"/],
    [['run', '--report-dir'], /argument missing/],
    [['run', '--target', 'not a url'], /--target must be an http\(s\) URL/],
    [['verify'], /no client command: tenzro-harness verify \[options\] -- <command>/],
    [['verify', 'node', 'client.js'], /unexpected argument "node": put the client command after --/],
    [['verify', '--profile', 'nope', '--', 'node'], /unknown profile "nope"; known: default, calm, quick, tls, shared-key, rotation, hostile, environments, incident/],
    [['verify', '--duration', '0', '--', 'node'], /--duration must be a whole number 1\.\.86400, got "0"/],
    [['verify', '--duration', '1.5', '--', 'node'], /--duration must be a whole number/],
    [['verify', '--max-retries', '101', '--', 'node'], /--max-retries must be a whole number 0\.\.100/],
    [['verify', '--tolerance-ms', '-5', '--', 'node'], /--tolerance-ms/],
    [['verify', '--target', 'ftp://127.0.0.1/', '--', 'node'], /--target must be an http\(s\) URL, got "ftp:\/\/127\.0\.0\.1\/"/],
    [['verify', '--otlp-forward', 'nope', '--', 'node'], /--otlp-forward must be an http\(s\) URL/],
    [['profiles', 'extra'], /Unexpected argument 'extra'|unexpected/i]
  ])('%j', async (argv, message) => {
    const r = await cli(...argv)
    expect(r.code).toBe(EXIT.usage)
    expect(r.err).toMatch(message)
    expect(r.err).toMatch(/invalid_usage; see tenzro-harness/)
  })
})

describe('what cannot run exits 3', () => {
  let unreachable: string
  beforeAll(async () => { unreachable = `http://127.0.0.1:${await closedPort()}` })
  const reportDir = () => mkdtempSync(join(tmpdir(), 'cli-test-'))

  it('a client command that does not exist', async () => {
    const r = await cli('verify', '--quiet', '--report-dir', reportDir(), '--', '/nonexistent/tenzro-client')
    expect(r.code).toBe(EXIT.cannotRun)
    expect(r.err).toMatch(/the client command could not start \(ENOENT\)/)
  })

  it('a client that exits before making any request', async () => {
    const r = await cli('verify', '--quiet', '--report-dir', reportDir(), '--', process.execPath, '-e', 'process.exit(4)')
    expect(r.code).toBe(EXIT.cannotRun)
    expect(r.err).toMatch(/the client exited with 4 before making any request \(it wrote nothing to stderr\)/)
  })

  it('shows the end of the stderr of a client that could not run, and keeps its output, with the key redacted', async () => {
    const dir = reportDir()
    const script = "console.log('starting with', process.env.TENZRO_API_KEY); console.error('Error: Cannot find module ./config.json'); console.error('key was ' + Buffer.from(process.env.TENZRO_API_KEY).toString('base64')); process.exit(1)"
    const r = await cli('verify', '--quiet', '--report-dir', dir, '--', process.execPath, '-e', script)
    expect(r.code).toBe(EXIT.cannotRun)
    expect(r.err).toMatch(/the client exited with 1 before making any request; the end of its stderr \(all of it, redacted, in the report directory's client\*\.stderr\.log\):\n {2}\| Error: Cannot find module \.\/config\.json\n {2}\| key was «redacted canary:0»/)
    const stderr = readFileSync(join(dir, 'client.stderr.log'), 'utf8')
    const stdout = readFileSync(join(dir, 'client.stdout.log'), 'utf8')
    expect(stderr).toMatch(/Cannot find module/)
    expect(stdout).toMatch(/^starting with «redacted canary:0»\n$/)
    expect(r.err + stderr + stdout).not.toMatch(/tnz_[a-z0-9]+_/)
  })

  it('an unreachable --target, for verify and for run', async () => {
    const v = await cli('verify', '--quiet', '--target', unreachable, '--report-dir', reportDir(), '--', process.execPath, '-e', '')
    expect(v.code).toBe(EXIT.cannotRun)
    expect(v.err).toMatch(new RegExp(`cannot reach the mock's control API at ${unreachable.replace(/\./g, '\\.')}.*\\(target_unreachable\\)`))
    const r = await cli('run', 'throttling', '--quiet', '--target', unreachable, '--report-dir', reportDir())
    expect(r.code).toBe(EXIT.cannotRun)
    expect(r.err).toMatch(/target_unreachable/)
  })
})
