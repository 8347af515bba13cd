// Several real `tenzro-mock` processes for the scale-out tests: each is the command a user runs, with
// its own NATS and Redis connections, started on a free port (--port 0) from one JSON config file.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MockConfigInput } from '../../src/config.ts'

const BIN = fileURLToPath(new URL('../../../bin/tenzro-mock.js', import.meta.url))
const LISTENING = /tenzro-mock listening on (http:\/\/\S+)\n/

export interface MockProcess {
  url: string
  child: ChildProcess
  stderr (): string
  stop (): Promise<void>
}

/** Start `tenzro-mock --port 0 --config <file> ...args`; resolves once it prints its listening line. */
export async function startMockProcess (config: MockConfigInput, args: string[] = [], { timeoutMs = 20_000 } = {}): Promise<MockProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'tenzro-scale-'))
  const file = join(dir, 'config.json')
  writeFileSync(file, JSON.stringify(config))
  // A clean environment: no TENZRO_MOCK_* from the caller's shell changes what is tested.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TENZRO_MOCK_') && !k.startsWith('OTEL_')))
  const child = spawn(process.execPath, ['--max-semi-space-size=8', BIN, '--port', '0', '--config', file, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); if (err.length > 200_000) err = err.slice(-100_000) })
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`tenzro-mock did not start in ${timeoutMs} ms; stderr:\n${err.slice(-4000)}`)) }, timeoutMs)
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      const m = LISTENING.exec(out)
      if (m !== null) { clearTimeout(timer); resolve(m[1]!) }
    })
    void exited.then(() => { clearTimeout(timer); reject(new Error(`tenzro-mock exited ${child.exitCode} before listening; stderr:\n${err.slice(-4000)}`)) })
  })
  return {
    url,
    child,
    stderr: () => err,
    async stop () {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const t = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(t)
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** Start `n` instances on the same config (and so the same shared backends). */
export async function startMockProcesses (n: number, config: MockConfigInput, args: string[] = []): Promise<MockProcess[]> {
  const out: MockProcess[] = []
  try {
    // One after another: the machine is small and each start compiles the same sources.
    for (let i = 0; i < n; i++) out.push(await startMockProcess(config, args))
  } catch (err) {
    await Promise.all(out.map((p) => p.stop()))
    throw err
  }
  return out
}
