// The leak scanner on files and folders, and its input checks. Real files in a temporary folder;
// keys are generated from fixed seeds (fake secrets start with FAKE, house style).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createRandom } from '../../mock-server/src/domain/random.ts'
import { createLeakScanner, encodeLeak } from '../src/scan/index.ts'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const random = createRandom(31337)
const secret = () => Array.from({ length: 39 }, () => ALPHABET[Math.floor(random() * 64)]).join('')
const KEY = `tnz_acme_FAKE${secret()}`
const scanner = createLeakScanner({ canaries: [KEY] })

const dir = mkdtempSync(join(tmpdir(), 'tenzro-scan-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

function filler (bytes: number): Buffer {
  const line = Buffer.from('{"level":30,"msg":"request completed","res":{"statusCode":200}}\n')
  const out = Buffer.alloc(bytes)
  for (let at = 0; at < bytes; at += line.length) line.copy(out, at)
  return out
}

describe('scanFile', () => {
  it('finds keys in a file of several read chunks, one split across the 1 MiB chunk boundary', async () => {
    const head = filler(1024 * 1024 - 20)
    const middle = Buffer.from(`x-api-key: ${KEY}\n`)
    const b64 = encodeLeak(KEY, 'base64', random)
    const tail = Buffer.concat([filler(2 * 1024 * 1024), Buffer.from(`b64 ${b64}\n`)])
    const path = join(dir, 'big.log')
    const file = Buffer.concat([head, middle, tail])
    writeFileSync(path, file)
    const found = await scanner.scanFile(path)
    const lines = (b: Buffer) => b.toString('latin1').split('\n').length - 1
    expect(found.map(f => [f.source, f.encoding, f.match, f.offset, f.line])).toEqual([
      [path, 'raw', 'full', head.length + 11, lines(head) + 1],
      [path, 'base64', 'full', file.indexOf(b64), lines(head) + 1 + lines(tail)]
    ])
  })

  it('reads no more than maxBytes', async () => {
    const path = join(dir, 'late.log')
    writeFileSync(path, Buffer.concat([filler(5000), Buffer.from(KEY)]))
    expect(await scanner.scanFile(path, { maxBytes: 4096 })).toEqual([])
    expect(await scanner.scanFile(path)).toHaveLength(1)
  })
})

describe('scanDir', () => {
  const root = join(dir, 'tree')
  mkdirSync(join(root, 'logs', 'old'), { recursive: true })
  mkdirSync(join(root, 'node_modules', 'pkg'), { recursive: true })
  mkdirSync(join(root, '.git'), { recursive: true })
  mkdirSync(join(root, 'reports'), { recursive: true })
  writeFileSync(join(root, 'logs', 'app.log'), `ok\nleak ${KEY}\n`)
  writeFileSync(join(root, 'logs', 'old', 'app.1.log'), `url ${encodeLeak(KEY, 'url', random)}\n`)
  const binary = Buffer.alloc(4096)
  for (let i = 0; i < binary.length; i++) binary[i] = Math.floor(random() * 256)
  Buffer.from(encodeLeak(KEY, 'hex', random)).copy(binary, 1000)
  writeFileSync(join(root, 'dump.bin'), binary)
  writeFileSync(join(root, 'node_modules', 'pkg', 'index.js'), `const k = '${KEY}'\n`)
  writeFileSync(join(root, '.git', 'ORIG_HEAD'), KEY)
  writeFileSync(join(root, 'reports', 'report.json'), JSON.stringify({ key: KEY }))
  writeFileSync(join(root, 'large.txt'), Buffer.concat([filler(3000), Buffer.from(KEY)]))
  symlinkSync(join(root, 'logs', 'app.log'), join(root, 'link.log'))

  it('walks the tree in name order, scans binary files as bytes, and skips node_modules, .git and links', async () => {
    const result = await scanner.scanDir(root)
    expect(result.findings.map(f => [f.source.slice(root.length + 1), f.encoding])).toEqual([
      ['dump.bin', 'hex'],
      ['large.txt', 'raw'],
      ['logs/app.log', 'raw'],
      ['logs/old/app.1.log', 'url'],
      ['reports/report.json', 'raw']
    ])
    expect(result.files).toBe(5)
    expect(result.skipped).toEqual([{ path: join(root, 'link.log'), reason: 'not-a-regular-file' }])
  })

  it('takes extra ignores by name, by relative path and by pattern, and reports truncated files', async () => {
    const result = await scanner.scanDir(root, { ignore: ['reports', 'logs/old', /\.bin$/], maxBytes: 2048 })
    expect(result.findings.map(f => f.source.slice(root.length + 1))).toEqual(['logs/app.log'])
    expect(result.skipped).toContainEqual({ path: join(root, 'large.txt'), reason: 'truncated', detail: expect.stringMatching(/^scanned 2048 of \d+ bytes$/) })
  })

  it('scans node_modules when the default ignores are off', async () => {
    const result = await scanner.scanDir(root, { defaultIgnore: false })
    expect(result.findings.map(f => f.source.slice(root.length + 1))).toEqual(expect.arrayContaining(['.git/ORIG_HEAD', 'node_modules/pkg/index.js']))
  })
})

describe('inputs', () => {
  it('refuses a canary too short to search for, and takes any other token of 12 characters or more', () => {
    expect(() => createLeakScanner({ canaries: ['short'] })).toThrow(/canary 0 is 5 characters long; a canary needs at least 12/)
    const token = `admtok-${secret()}`
    const s = createLeakScanner({ canaries: [token], rules: [] })
    const found = s.scan(`token=${Buffer.from(token).toString('base64')}`, 'x')
    expect(found.map(f => [f.id, f.encoding, f.match])).toEqual([['canary:0', 'base64', 'full']])
    expect(found[0]!.preview).toBe('«base64:****»')
  })

  it('takes strings, Buffers and Uint8Arrays alike', () => {
    const text = `k ${KEY}`
    const expected = scanner.scan(text, 'x')
    expect(expected).toHaveLength(1)
    expect(scanner.scan(Buffer.from(text), 'x')).toEqual(expected)
    expect(scanner.scan(new Uint8Array(Buffer.from(text)), 'x')).toEqual(expected)
  })

  it('refuses writes after end', () => {
    const s = scanner.createStreamScanner('x')
    expect(s.end()).toEqual([])
    expect(() => s.write('more')).toThrow(/write after end/)
  })
})
