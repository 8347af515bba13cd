// Real Debian binaries for tests (house style principle 7): find one, decide whether its tests run,
// and pick a free loopback port. A missing binary skips with a printed reason, except under CI, where
// .ci/run installs every one and a missing binary is a failure.
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { delimiter, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface BinarySpec {
  /** Executable name, e.g. `redis-server`. */
  name: string
  /** Environment variable that may point at it, e.g. `REDIS_SERVER_BIN`. */
  envVar: string
  /** The Debian package that ships it. */
  pkg: string
}

const DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin']

export function findBinary (spec: BinarySpec): string | undefined {
  const fromEnv = process.env[spec.envVar]
  if (fromEnv !== undefined && existsSync(fromEnv)) return fromEnv
  return DIRS.map((d) => `${d}/${spec.name}`).find((p) => existsSync(p))
}

/** Why the binary's tests must skip, or undefined when they can run. Throws under CI. */
export function skipReason (spec: BinarySpec, what = `${spec.name} tests`): string | undefined {
  if (findBinary(spec) !== undefined) return undefined
  const reason = `${spec.name} not found (looked in ${DIRS.join(', ')}; set ${spec.envVar}): install it with apt-get install ${spec.pkg}`
  if (process.env.CI !== undefined && process.env.CI !== '') throw new Error(reason)
  console.warn(`skipping ${what}: ${reason}`)
  return reason
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/**
 * The k6 binary: the `K6` environment variable, then `k6` on PATH, then the workspace's copy at
 * `../shared/tools/k6/k6` from the repository root. Undefined when none exists.
 */
export function findK6 (): string | undefined {
  const fromEnv = process.env.K6
  if (fromEnv !== undefined && fromEnv !== '' && existsSync(fromEnv)) return fromEnv
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'k6'))) return join(dir, 'k6')
  }
  const shared = resolve(REPO_ROOT, '../shared/tools/k6/k6')
  return existsSync(shared) ? shared : undefined
}

/** Why k6 tests must skip, or undefined when they can run. Throws under CI, where k6 must be present. */
export function k6SkipReason (what = 'k6 tests'): string | undefined {
  if (findK6() !== undefined) return undefined
  const reason = 'k6 not found (set K6, put k6 on PATH, or place it at ../shared/tools/k6/k6 from the repository root)'
  if (process.env.CI !== undefined && process.env.CI !== '') throw new Error(reason)
  console.warn(`skipping ${what}: ${reason}`)
  return reason
}
