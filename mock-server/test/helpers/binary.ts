// Real Debian binaries for tests (house style principle 7): find one, decide whether its tests run,
// and pick a free loopback port. A missing binary skips with a printed reason, except under CI, where
// .ci/run installs every one and a missing binary is a failure. k6 is no Debian package: findK6()
// looks for it as the scenario tests need it.
import { execFileSync } from 'node:child_process'
import { accessSync, constants, existsSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { delimiter, join } from 'node:path'

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

// ---- k6 --------------------------------------------------------------------------------------------

/** The oldest k6 the scenarios support: it strips TypeScript types itself and has the summary data they read. */
const K6_MIN = [1, 3] as const
const REPO_ROOT = join(import.meta.dirname, '..', '..', '..')
/** Beside the repository: the workspace keeps a real k6 in shared/tools, and CI copies shared/ next to its clone. */
const K6_BESIDE_REPO = join(REPO_ROOT, '..', 'shared', 'tools', 'k6', 'k6')

export type K6Lookup =
  | { path: string, version: string, reason: undefined }
  | { path: undefined, version: undefined, reason: string }

function executable (p: string): boolean {
  try {
    accessSync(p, constants.X_OK)
    return statSync(p).isFile()
  } catch {
    return false
  }
}

function k6Version (p: string): string | Error {
  try {
    const out = execFileSync(p, ['version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] })
    return /\bv(\d+\.\d+\.\d+\S*)/.exec(out)?.[1] ?? new Error(`\`${p} version\` printed no version: ${out.trim().slice(0, 120)}`)
  } catch (err) {
    return err as Error
  }
}

let k6Found: K6Lookup | undefined

/**
 * A real k6 for the scenario tests: `K6` (a path), then `k6` on PATH, then `../shared/tools/k6/k6`
 * beside the repository. It must be at least v1.3. When none is usable, `reason` says why and how to
 * get one, and `console.warn`s it so the skip is visible; under CI a missing k6 throws instead.
 */
export function findK6 (what = 'the k6 tests'): K6Lookup {
  k6Found ??= lookK6()
  if (k6Found.reason !== undefined) {
    if (process.env.CI !== undefined && process.env.CI !== '') throw new Error(k6Found.reason)
    console.warn(`skipping ${what}: ${k6Found.reason}`)
  }
  return k6Found
}

function lookK6 (): K6Lookup {
  const fromEnv = process.env.K6
  const onPath = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, 'k6'))
  const candidates = fromEnv !== undefined && fromEnv !== '' ? [fromEnv] : [...onPath, K6_BESIDE_REPO]
  const path = candidates.find(executable)
  if (path === undefined) {
    const looked = fromEnv !== undefined && fromEnv !== '' ? `K6=${fromEnv} is not an executable file` : `no k6 on PATH nor at ${K6_BESIDE_REPO}`
    return { path: undefined, version: undefined, reason: `${looked}: install k6 >= ${K6_MIN.join('.')} (https://grafana.com/docs/k6/latest/set-up/install-k6/) or set K6 to its path` }
  }
  const version = k6Version(path)
  if (version instanceof Error) return { path: undefined, version: undefined, reason: `${path} does not run: ${version.message.split('\n')[0]}` }
  const [major = 0, minor = 0] = version.split('.').map(Number)
  if (major < K6_MIN[0] || (major === K6_MIN[0] && minor < K6_MIN[1])) {
    return { path: undefined, version: undefined, reason: `${path} is k6 v${version}; the scenarios need k6 >= ${K6_MIN.join('.')} (TypeScript and the summary data they read)` }
  }
  return { path, version, reason: undefined }
}
