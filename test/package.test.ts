// The package as a user gets it: `npm pack` (which builds dist/ through prepack), then a fresh project
// in a temporary directory outside the repository with nothing but the tarball installed, and the
// commands of the README run there exactly as written: `npx tenzro-harness verify --profile quick`
// (judged from its JUnit), `npx tenzro-mock --port 0`, imports of tenzro-harness/msw and /client with
// Node, the user's own vitest test with msw's setupServer, and `tsc --noEmit` of a file using the types.
// Test runners and compilers the user would install (vitest, msw, typescript) are linked from this
// checkout's node_modules, so the only thing installed is the tarball and its dependencies.
import { execFile, execFileSync, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify, stripVTControlCharacters } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FIXTURES = join(ROOT, 'test/fixtures/consumer')
const run = promisify(execFile)

interface Result { code: number, stdout: string, stderr: string }
async function sh (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeout = 120_000): Promise<Result> {
  try {
    const r = await run(cmd, args, { cwd, env: { ...process.env, ...env }, timeout, maxBuffer: 64 * 1024 * 1024 })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as { code?: number | string, stdout?: string, stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''}${typeof e.code === 'string' ? ` (${e.code})` : ''}` }
  }
}

/** The first fenced block of `lang` in the README section that starts with `heading`. */
function readmeBlock (heading: string, lang: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf(heading))
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section)
  if (m === null) throw new Error(`no ${lang} block under ${heading}`)
  return m[1]!
}

/** testcase name -> 'pass' | 'fail' | 'error' | 'skip', from a JUnit file the harness wrote. */
function junitVerdicts (file: string): Map<string, string> {
  const xml = readFileSync(file, 'utf8')
  const out = new Map<string, string>()
  for (const m of xml.matchAll(/<testcase [^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/testcase>/g)) {
    const body = m[2]!
    out.set(m[1]!.split(':')[0]!, body.includes('<failure') ? 'fail' : body.includes('<error') ? 'error' : body.includes('<skipped') ? 'skip' : 'pass')
  }
  return out
}

describe('installed from the packed tarball into a fresh project', () => {
  let dir: string
  let project: string
  let pack: { filename: string, size: number, unpackedSize: number, files: Array<{ path: string }> }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tenzro-consumer-'))
    project = join(dir, 'project')
    mkdirSync(project)
    const packed = await sh('npm', ['pack', '--json', '--pack-destination', dir], ROOT, {}, 240_000)
    expect(packed.code, packed.stderr).toBe(0)
    pack = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')))[0]
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-integration', version: '1.0.0', private: true, type: 'module' }, null, 2))
    const installed = await sh('npm', ['i', '-D', '--prefer-offline', '--no-audit', '--no-fund', join(dir, pack.filename)], project, {}, 240_000)
    expect(installed.code, installed.stderr).toBe(0)
    // What the user has installed besides: linked, after the install (npm would prune them otherwise).
    for (const name of ['vitest', 'msw', 'typescript', '@types/node']) {
      if (existsSync(join(project, 'node_modules', name))) continue // a dependency of the package already
      mkdirSync(join(project, 'node_modules', name, '..'), { recursive: true })
      symlinkSync(join(ROOT, 'node_modules', name), join(project, 'node_modules', name))
    }
    symlinkSync('../vitest/vitest.mjs', join(project, 'node_modules/.bin/vitest'))
    symlinkSync('../typescript/bin/tsc', join(project, 'node_modules/.bin/tsc'))
    for (const f of ['wallets.spec.mjs', 'uses-client.ts']) cpSync(join(FIXTURES, f), join(project, f))
    // The README's own examples, as written: the reference client (type-checked below) and the msw test (run below).
    writeFileSync(join(project, 'readme-client.ts'), readmeBlock('## The reference client', 'ts'))
    writeFileSync(join(project, 'readme-msw.spec.ts'), readmeBlock('## Testing your own code with the msw handlers', 'ts'))
    mkdirSync(join(project, 'src'))
    cpSync(join(FIXTURES, 'client.mjs'), join(project, 'src/client.js'))
  }, 480_000)
  afterAll(() => { if (dir !== undefined) rmSync(dir, { recursive: true, force: true }) })

  it('ships dist/, the launchers, the API document and the CI recipes, and no sources, tests or reports', () => {
    const paths = pack.files.map((f) => f.path)
    for (const p of ['bin/tenzro-harness.js', 'bin/tenzro-mock.js', 'dist/openapi.json', 'dist/harness/src/cli.js', 'dist/harness/src/client/index.d.ts', 'dist/mock-server/src/msw/index.js', 'dist/examples/clients/good.js', 'dist/harness/rules/leak-rules.json', 'docs/api.md', 'examples/ci/github-actions.yml', 'examples/ci/gitlab-ci.yml', 'README.md', 'package.json']) {
      expect(paths, p).toContain(p)
    }
    expect(paths.filter((p) => /\.ts$/.test(p) && !p.endsWith('.d.ts'))).toEqual([])
    expect(paths.filter((p) => /(^|\/)(test|bench|reports|scenarios|dashboards|node_modules)\//.test(p))).toEqual([])
  })

  it('reports its packed size in the README (within 25 %)', () => {
    const m = /tarball is \*\*([\d.]+) kB\*\*/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'))
    expect(m, 'README states "tarball is **N kB**"').not.toBeNull()
    const stated = Number(m![1]) * 1000
    expect(Math.abs(pack.size - stated) / pack.size, `packed ${pack.size} B, README says ${stated} B`).toBeLessThan(0.25)
  })

  it('imports tenzro-harness, /msw and /client with plain Node', async () => {
    for (const spec of ['tenzro-harness', 'tenzro-harness/msw', 'tenzro-harness/client']) {
      const r = await sh(process.execPath, ['-e', `import('${spec}').then((m) => console.log(Object.keys(m).sort().join(',')))`], project)
      expect(r.code, `${spec}: ${r.stderr}`).toBe(0)
    }
    const r = await sh(process.execPath, ['--input-type=module', '-e', "import doc from 'tenzro-harness/openapi.json' with { type: 'json' }; console.log(doc.openapi)"], project)
    expect(r.stdout.trim(), r.stderr).toBe('3.1.0')
  })

  it('npx tenzro-harness verify --profile quick, as the CI recipes run it, passes a good client and fails a leaky one, by its JUnit', async () => {
    // The command exactly as examples/ci/github-actions.yml runs it (ci.test.ts holds it equal to the
    // README's and GitLab's), and the JUnit file where its publish step reads it.
    const steps = (parse(readFileSync(join(ROOT, 'examples/ci/github-actions.yml'), 'utf8')) as { jobs: { verify: { steps: Array<{ run?: string, with?: Record<string, string> }> } } }).jobs.verify.steps
    const command = steps.map((st) => st.run?.trim()).find((r) => r?.startsWith('npx tenzro-harness verify --profile quick '))!
    const junit = steps.find((st) => st.with?.report_paths !== undefined)!.with!.report_paths!
    expect(command).toBeDefined()
    // One after the other: the verdicts on timing (backoff, reconnects) should not depend on a second
    // harness competing for the same cores.
    const good = await sh('sh', ['-c', command], project, {}, 150_000)
    const leaky = await sh('sh', ['-c', command.replace(/--report-dir \S+/, '--report-dir reports/leaky')], project, { LEAK_KEY: '1' }, 150_000)
    const goodVerdicts = junitVerdicts(join(project, junit))
    expect(good.code, `${good.stdout}\n${good.stderr}`).toBe(0)
    expect([...goodVerdicts.values()].filter((v) => v === 'fail' || v === 'error')).toEqual([])
    expect([...goodVerdicts.values()].filter((v) => v === 'pass').length).toBeGreaterThanOrEqual(8)
    const leakyVerdicts = junitVerdicts(join(project, 'reports/leaky/junit.xml'))
    expect(leaky.code, `${leaky.stdout}\n${leaky.stderr}`).toBe(1)
    expect(leakyVerdicts.get('secrets/no-leak')).toBe('fail')
  }, 300_000)

  it('npx tenzro-mock --port 0 prints its listening line and serves the OpenAPI description', async () => {
    // Its own process group: npx runs the mock as a child, and stopping npx alone would leave the mock running.
    const child = spawn('npx', ['tenzro-mock', '--port', '0'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = ''
        const t = setTimeout(() => reject(new Error(`no listening line in 30 s: ${out}`)), 30_000)
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString()
          const m = /^tenzro-mock listening on http:\/\/127\.0\.0\.1:\d+$/m.exec(out)
          if (m !== null) { clearTimeout(t); resolve(m[0]) }
        })
        child.once('exit', (code) => { clearTimeout(t); reject(new Error(`exited ${code}: ${out}`)) })
      })
      const res = await fetch(`${line.slice('tenzro-mock listening on '.length)}/openapi.json`)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual(JSON.parse(readFileSync(join(project, 'node_modules/tenzro-harness/dist/openapi.json'), 'utf8')))
      // The installed command keeps the mock's small young generation (bin/tenzro-mock.js's shebang).
      const cmdlines = execFileSync('ps', ['-eo', 'pgid=,args='], { encoding: 'utf8' }).split('\n')
        .filter((l) => l.trim().split(/\s+/)[0] === String(child.pid)).join('\n')
      expect(cmdlines).toMatch(/node --max-semi-space-size=8 \S*tenzro-mock --port 0/)
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      process.kill(-child.pid!, 'SIGTERM')
      await exited
    }
  }, 60_000)

  it('tenzro-harness/msw works in the user\'s own vitest tests with msw\'s setupServer, the README\'s among them', async () => {
    const r = await sh('npx', ['vitest', 'run', '--root', '.'], project, { CI: 'true', NO_COLOR: '1' }, 120_000)
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    expect(stripVTControlCharacters(r.stdout)).toMatch(/Tests\s+2 passed/)
  }, 150_000)

  it('tenzro-harness/client imports with its types: tsc --noEmit of files that use them, the README\'s reference client among them', async () => {
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'es2024', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: ['node'], skipLibCheck: false }, files: ['uses-client.ts', 'readme-client.ts', 'readme-msw.spec.ts'] }))
    const r = await sh('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json'], project, {}, 120_000)
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
  }, 150_000)
})
