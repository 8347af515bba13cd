// A real nats-server with JetStream for tests (house style principle 7): a free port on 127.0.0.1 and a
// temporary store dir, started per test file and removed afterwards. When the binary is missing the
// caller skips with a printed reason, except under CI, where a missing binary is a failure.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findBinary, freePort, skipReason, type BinarySpec } from './binary.ts'

const NATS: BinarySpec = { name: 'nats-server', envVar: 'NATS_SERVER_BIN', pkg: 'nats-server' }

/** The nats-server binary, or undefined when it is not installed. */
export function natsServerBinary (): string | undefined {
  return findBinary(NATS)
}

/** Why NATS tests must skip, or undefined when they can run. Under CI a missing binary throws. */
export function natsSkipReason (): string | undefined {
  return skipReason(NATS, 'NATS tests')
}

export { freePort }


export interface NatsServer {
  url: string
  port: number
  storeDir: string
  stop (): Promise<void>
}

/** Start `nats-server -js` on a free port with a temporary store dir; resolves once it is ready. */
export async function startNatsServer ({ timeoutMs = 10_000 } = {}): Promise<NatsServer> {
  const bin = natsServerBinary()
  if (bin === undefined) throw new Error('nats-server is not installed')
  const storeDir = await mkdtemp(join(tmpdir(), 'tenzro-nats-'))
  // A port picked by freePort() can be taken by someone else before nats-server binds it: retry.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    const child = spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], { stdio: ['ignore', 'ignore', 'pipe'] })
    try {
      await waitReady(child, timeoutMs)
    } catch (err) {
      child.kill('SIGKILL')
      if (attempt < 3) continue
      await rm(storeDir, { recursive: true, force: true })
      throw err
    }
    return {
      url: `nats://127.0.0.1:${port}`,
      port,
      storeDir,
      async stop () {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
          child.kill('SIGTERM')
          const t = setTimeout(() => child.kill('SIGKILL'), 5000)
          await exited
          clearTimeout(t)
        }
        await rm(storeDir, { recursive: true, force: true })
      }
    }
  }
}

function waitReady (child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = ''
    const timer = setTimeout(() => { done(new Error(`nats-server not ready after ${timeoutMs} ms:\n${log}`)) }, timeoutMs)
    function done (err?: Error): void {
      clearTimeout(timer)
      child.stderr?.removeListener('data', onData)
      child.removeListener('exit', onExit)
      // Keep draining stderr so a chatty server never blocks on a full pipe.
      child.stderr?.resume()
      if (err === undefined) resolve()
      else reject(err)
    }
    function onData (chunk: Buffer): void {
      log += chunk.toString()
      if (log.includes('Server is ready')) done()
      else if (/address already in use|Error listening/i.test(log)) done(new Error(log))
    }
    function onExit (code: number | null): void { done(new Error(`nats-server exited with ${code}:\n${log}`)) }
    child.stderr?.on('data', onData)
    child.on('exit', onExit)
  })
}
