// The CI recipes are valid YAML, install the package, run `verify` with the command the README
// documents and publish the JUnit file that command writes. The command itself runs for real, in a
// project with the packed tarball installed, in test/package.test.ts.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url))
function load (file: string): Json {
  const doc = parseDocument(readFileSync(here(file), 'utf8'), { uniqueKeys: true, prettyErrors: true })
  expect(doc.errors.map((e) => e.message)).toEqual([])
  expect(doc.warnings.map((e) => e.message)).toEqual([])
  return doc.toJS() as Json
}

/** The README's "In CI" block: the commands it documents, one per line. */
function readmeCommands (): string[] {
  const readme = readFileSync(here('../../README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### In CI'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)
  expect(block, 'README has a "### In CI" section with a sh block').not.toBeNull()
  return block![1]!.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean)
}

const reportDirOf = (cmd: string) => /--report-dir (\S+)/.exec(cmd)?.[1]

describe('the CI recipes (examples/ci)', () => {
  const documented = readmeCommands()
  const verify = documented.find((c) => c.startsWith('npx tenzro-harness verify '))

  it('the README documents installing the package and one verify command with a report directory', () => {
    expect(documented).toContain('npm i -D tenzro-harness')
    expect(verify).toBeDefined()
    expect(reportDirOf(verify!)).toBeDefined()
  })

  it('GitHub Actions: installs, runs the documented verify command, publishes its JUnit and keeps the report', () => {
    const wf = load('github-actions.yml')
    expect(Object.keys(wf.on).sort()).toEqual(['pull_request', 'push'])
    expect(wf.permissions.checks).toBe('write')
    const steps = wf.jobs.verify.steps as Json[]
    const node = steps.find((s) => String(s.uses).startsWith('actions/setup-node@'))
    expect(Number(node?.with['node-version'])).toBeGreaterThanOrEqual(22)
    const runs = steps.filter((s) => s.run !== undefined).map((s) => String(s.run).trim())
    expect(runs).toEqual(['npm ci', verify])
    const junit = steps.find((s) => String(s.uses).startsWith('mikepenz/action-junit-report@'))
    expect(junit?.with.report_paths).toBe(`${reportDirOf(verify!)}/junit.xml`)
    expect(junit?.if).toMatch(/!cancelled\(\)/)
    const upload = steps.find((s) => String(s.uses).startsWith('actions/upload-artifact@'))
    expect(upload?.with.path).toBe(`${reportDirOf(verify!)}/`)
  })

  it('GitLab CI: installs, runs the documented verify command and publishes its JUnit, also when it fails', () => {
    const job = load('gitlab-ci.yml')['tenzro-harness'] as Json
    expect(String(job.image)).toMatch(/^node:(2[2-9]|[3-9]\d)/)
    expect(job.script[0]).toMatch(/^npm ci\b/)
    expect(job.script.slice(1)).toEqual([verify])
    expect(job.artifacts.when).toBe('always')
    expect(job.artifacts.reports.junit).toBe(`${reportDirOf(verify!)}/junit.xml`)
  })
})
