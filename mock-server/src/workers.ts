// `tenzro-mock --workers N`: N processes serving one port on one machine (node:cluster; the primary
// accepts connections and hands them to the workers in turn), so every core serves. Each worker is a
// whole mock: the workers behave as one only through the shared backends, which server.ts requires
// before it gets here (README "Scale-out"). The primary serves nothing itself; it prints the one
// listening line once every worker listens, replaces a worker that dies, and stops them all on
// SIGINT/SIGTERM.
import cluster, { type Worker } from 'node:cluster'
import type { MockConfig } from './config.ts'

/** What a worker sends its primary once it listens. */
export interface ListeningMessage { type: 'tenzro-mock:listening', port: number }

export function isWorker (): boolean {
  return cluster.isWorker
}

/** From a worker: tell the primary it listens (instead of printing the line itself). */
export function reportListening (port: number): void {
  process.send?.({ type: 'tenzro-mock:listening', port } satisfies ListeningMessage)
}

/** What must be shared before N processes can serve as one; empty when all is. */
export function unsharedBackends (config: MockConfig): string[] {
  const out: string[] = []
  if (config.state.store === 'memory') out.push('--state redis://... (tenants, keys, wallets, idempotency, faults, record)')
  if (config.rateLimit.enabled && config.rateLimit.store === 'memory') out.push('--rate-limit-store redis://... (limits)')
  if (config.events.backend === 'memory') out.push('--events nats://... (event streams)')
  return out
}

/** Run the primary: fork `n` workers of this same command and wait for a signal. Resolves with the exit code. */
export function runPrimary (n: number, config: MockConfig, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  return new Promise((resolve) => {
    const listening = new Map<number, number>()
    let started = false
    let stopping = false
    let exitCode = 0

    function fork (): void {
      const w: Worker = cluster.fork()
      w.on('message', (m: Partial<ListeningMessage>) => {
        if (m?.type !== 'tenzro-mock:listening' || typeof m.port !== 'number') return
        listening.set(w.id, m.port)
        if (!started && listening.size === n) {
          started = true
          const host = config.host.includes(':') ? `[${config.host}]` : config.host
          out.write(`tenzro-mock listening on http://${host}:${m.port}\n`)
        }
      })
    }

    function stopAll (code: number): void {
      if (stopping) return
      stopping = true
      exitCode = code
      const workers = Object.values(cluster.workers ?? {})
      if (workers.length === 0) { resolve(code); return }
      for (const w of workers) w?.process.kill('SIGTERM')
    }

    cluster.on('exit', (w, code, signal) => {
      listening.delete(w.id)
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve(exitCode)
        return
      }
      if (!started) {
        // A worker that cannot start (port taken, a backend unreachable) has said why on stderr.
        err.write(`tenzro-mock: a worker exited (${signal ?? code}) before every worker listened; stopping\n`)
        stopAll(code === 2 ? 2 : 3)
        return
      }
      err.write(`tenzro-mock: worker ${w.process.pid} exited (${signal ?? code}); starting another\n`)
      fork()
    })
    process.once('SIGINT', () => { stopAll(0) })
    process.once('SIGTERM', () => { stopAll(0) })
    for (let i = 0; i < n; i++) fork()
  })
}
