// Shared by the scenario tests: where the scripts are, their sources, and the mock as users start it
// (bin/tenzro-mock.js on a free port). k6 itself is real (k6.test.ts); nothing here stands in for it.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

export const SCENARIOS_DIR = join(import.meta.dirname, '..')

/** The runnable scripts: every .ts directly in scenarios/. */
export function scriptFiles (): string[] {
  return readdirSync(SCENARIOS_DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort()
}

/** Every source file under scenarios/, tests included, as [path relative to scenarios/, text]. */
export function allSources (dir = SCENARIOS_DIR): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...allSources(p))
    else if (/\.(ts|js|mjs|cjs)$/.test(name)) out.push([relative(SCENARIOS_DIR, p), readFileSync(p, 'utf8')])
  }
  return out
}

/** Start the real mock (bin/tenzro-mock.js) on a free port; resolves with its URL and a stop function. */
export async function startMockProcess (args: string[] = []): Promise<{ url: string, stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [join(SCENARIOS_DIR, '..', 'bin', 'tenzro-mock.js'), '--port', '0', '--log-level', 'silent', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`the mock did not start in 10 s: ${err}`)), 10_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /tenzro-mock listening on (http:\/\/\S+)/.exec(out)
      if (m !== null) { clearTimeout(timer); resolve(m[1]!) }
    })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the mock exited with ${code}: ${err}`)) })
  })
  return {
    url,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) { resolve(); return }
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
  }
}
