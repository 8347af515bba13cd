// A real redis-server for tests (house style principle 7): a free port on 127.0.0.1, no persistence, a
// temporary working dir, stopped and removed afterwards. kill() and restart() on the same port let a
// test cut Redis away mid-run and bring it back. When the binary is missing the caller skips with a
// printed reason, except under CI, where a missing binary is a failure.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findBinary, freePort, skipReason, type BinarySpec } from './binary.ts'

const REDIS: BinarySpec = { name: 'redis-server', envVar: 'REDIS_SERVER_BIN', pkg: 'redis-server' }

/** The redis-server binary, or undefined when it is not installed. */
export function redisServerBinary (): string | undefined {
  return findBinary(REDIS)
}

/** Why Redis tests must skip, or undefined when they can run. Under CI a missing binary throws. */
export function redisSkipReason (): string | undefined {
  return skipReason(REDIS, 'Redis tests')
}

export { freePort }


export interface RedisServer {
  url: string
  port: number
  dir: string
  /** Is the process running now? */
  running (): boolean
  /** Kill it (SIGKILL by default: an outage, not a shutdown); the temp dir stays until stop(). */
  kill (signal?: NodeJS.Signals): Promise<void>
  /** Freeze it (SIGSTOP): connections stay open but nothing answers. */
  pause (): void
  /** Unfreeze it (SIGCONT). */
  resume (): void
  /** Start it again on the same port after kill() (the outage ends). */
  restart (): Promise<void>
  /** Stop it for good and remove the temp dir. */
  stop (): Promise<void>
}

function spawnRedis (bin: string, port: number, dir: string): ChildProcess {
  return spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'notice'], { stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Start `redis-server` on a free port; resolves once it accepts connections. */
export async function startRedisServer ({ timeoutMs = 10_000 } = {}): Promise<RedisServer> {
  const bin = redisServerBinary()
  if (bin === undefined) throw new Error('redis-server is not installed')
  const dir = await mkdtemp(join(tmpdir(), 'tenzro-redis-'))
  let child: ChildProcess | undefined
  let port = 0
  // A port picked by freePort() can be taken before redis-server binds it: retry with another.
  for (let attempt = 0; ; attempt++) {
    port = await freePort()
    const c = spawnRedis(bin, port, dir)
    try {
      await waitReady(c, timeoutMs)
      child = c
      break
    } catch (err) {
      c.kill('SIGKILL')
      if (attempt < 3) continue
      await rm(dir, { recursive: true, force: true })
      throw err
    }
  }

  async function kill (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = child
    child = undefined
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return
    c.kill('SIGCONT')
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()))
    c.kill(signal)
    const t = setTimeout(() => c.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(t)
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    kill,
    pause () { child?.kill('SIGSTOP') },
    resume () { child?.kill('SIGCONT') },
    async restart () {
      if (child !== undefined) return
      // The port was ours a moment ago; the kernel may hold it briefly, so try for a while.
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const c = spawnRedis(bin, port, dir)
        try {
          await waitReady(c, timeoutMs)
          child = c
          return
        } catch (err) {
          c.kill('SIGKILL')
          if (Date.now() > deadline) throw err
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
    },
    async stop () {
      await kill('SIGTERM')
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** For scripts (bench/run.ts): a started server, or undefined when redis-server is not installed. */
export async function startRedis (): Promise<RedisServer | undefined> {
  if (redisServerBinary() === undefined) return undefined
  return await startRedisServer()
}

function waitReady (child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = ''
    const timer = setTimeout(() => { done(new Error(`redis-server not ready after ${timeoutMs} ms:\n${log}`)) }, timeoutMs)
    function done (err?: Error): void {
      clearTimeout(timer)
      child.stdout?.removeListener('data', onData)
      child.stderr?.removeListener('data', onData)
      child.removeListener('exit', onExit)
      // Keep draining the pipes so a chatty server never blocks on a full one.
      child.stdout?.resume()
      child.stderr?.resume()
      if (err === undefined) resolve()
      else reject(err)
    }
    function onData (chunk: Buffer): void {
      log += chunk.toString()
      if (log.includes('Ready to accept connections')) done()
      else if (/Address already in use|Could not create server TCP listening socket/i.test(log)) done(new Error(log))
    }
    function onExit (code: number | null): void { done(new Error(`redis-server exited with ${code}:\n${log}`)) }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.on('exit', onExit)
  })
}
