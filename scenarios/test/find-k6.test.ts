// findK6(): the lookup order (K6, PATH, beside the repository), the version floor, and CI's rule that
// a missing k6 fails instead of skipping. Fake k6 executables print a version line as k6 does.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, test, vi } from 'vitest'

const dir = mkdtempSync(join(tmpdir(), 'find-k6-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

function fakeK6 (sub: string, version: string, executable = true): string {
  mkdirSync(join(dir, sub), { recursive: true })
  const p = join(dir, sub, 'k6')
  writeFileSync(p, `#!/bin/sh\necho "k6 v${version} (commit/devel, go1.23.5, linux/amd64)"\n`)
  chmodSync(p, executable ? 0o755 : 0o644)
  return p
}

async function look () {
  vi.resetModules() // findK6 caches what it found per process
  const { findK6 } = await import('../../mock-server/test/helpers/binary.ts')
  return findK6
}

describe('findK6', () => {
  const saved = { K6: process.env.K6, PATH: process.env.PATH, CI: process.env.CI }
  beforeEach(() => {
    delete process.env.CI
    vi.spyOn(console, 'warn').mockImplementation(() => {})
  })
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
    vi.restoreAllMocks()
  })

  test('takes K6 first, and reads its version', async () => {
    process.env.K6 = fakeK6('env', '2.3.0')
    process.env.PATH = `${join(dir, 'path')}:${saved.PATH ?? ''}`
    fakeK6('path', '1.3.0')
    expect((await look())()).toEqual({ path: process.env.K6, version: '2.3.0', reason: undefined })
  })

  test('then k6 on PATH', async () => {
    delete process.env.K6
    const onPath = fakeK6('path', '1.3.0')
    process.env.PATH = `${join(dir, 'path')}:${saved.PATH ?? ''}`
    expect((await look())()).toMatchObject({ path: onPath, version: '1.3.0' })
  })

  test('skips with the reason when k6 is older than 1.3, or K6 is no executable', async () => {
    process.env.K6 = fakeK6('old', '0.49.0')
    const old = (await look())('the tests')
    expect(old.path).toBeUndefined()
    expect(old.reason).toMatch(/is k6 v0\.49\.0; the scenarios need k6 >= 1\.3/)
    expect(console.warn).toHaveBeenCalledWith(expect.stringMatching(/^skipping the tests: .*v0\.49\.0/))
    process.env.K6 = fakeK6('noexec', '1.3.0', false)
    expect((await look())().reason).toMatch(/^K6=.*noexec\/k6 is not an executable file: install k6 >= 1\.3/)
  })

  test('under CI a missing k6 is a failure, not a skip', async () => {
    process.env.CI = 'true'
    process.env.K6 = join(dir, 'nowhere', 'k6')
    const findK6 = await look()
    expect(() => findK6()).toThrow(/K6=.*nowhere\/k6 is not an executable file/)
  })
})
