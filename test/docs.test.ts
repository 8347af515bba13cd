// The API document is the project's own (docs/api.md): every section the code, tests and docs cite
// ("contract 4.4", "(API 4.4)") exists in it, and nothing sends the reader to a file outside the
// repository, except the test helpers that look for a shared k6 binary next to it.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n')
  .filter((f) => f !== '' && f !== 'package-lock.json' && !f.endsWith('.png'))
const text = (f: string) => { try { return readFileSync(join(ROOT, f), 'utf8') } catch { return '' } }

describe('docs/api.md', () => {
  const doc = readFileSync(join(ROOT, 'docs/api.md'), 'utf8')
  const sections = new Set([...doc.matchAll(/^## (\d+)\.|^(\d+\.\d+) /gm)].map((m) => m[1] ?? m[2]))

  it('has the sections 1 to 7 with their numbered paragraphs', () => {
    for (const s of ['1', '1.6', '2.6', '3.2', '4.4', '5.3', '6.1', '7.2', '7.3', '7.4', '7.5']) expect(sections, s).toContain(s)
  })

  it('holds every section the repository cites', () => {
    const missing: string[] = []
    for (const f of files) {
      for (const m of text(f).matchAll(/\bcontract (\d+(?:\.\d+)?)\b|\(API (\d+(?:\.\d+)?)\)/gi)) {
        const s = m[1] ?? m[2]!
        if (!sections.has(s)) missing.push(`${f}: ${m[0]}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('is the only API document: no file points outside the repository for it', () => {
    const scoped = files.filter((f) => f !== 'test/docs.test.ts')
    const outside = scoped.flatMap((f) => [...text(f).matchAll(/\.\.\/shared\/[\w./-]*|\/work\/shared\/[\w./-]*/g)].map((m) => `${f}: ${m[0]}`))
      .filter((hit) => !/shared\/tools\/k6/.test(hit))
    expect(outside).toEqual([])
  })
})
