// Files and folders for the leak scanner. Every file is read as bytes through the stream scanner,
// so binary files are scanned like text and a large file never sits in memory whole.
import { createReadStream } from 'node:fs'
import { lstat, opendir } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import type { Finding, StreamOptions } from './types.ts'

export interface ScanFileOptions extends StreamOptions {
  /** Scan at most this many bytes of the file (the rest is reported as skipped by scanDir). */
  maxBytes?: number
}

export interface ScanDirOptions extends ScanFileOptions {
  /**
   * Entries to skip, besides the defaults: a string matches an entry's name or its path relative
   * to the root (with `/`), a RegExp is tested against that relative path.
   */
  ignore?: Array<string | RegExp>
  /** Skip `node_modules` and `.git` (default true). */
  defaultIgnore?: boolean
}

export interface SkippedFile {
  path: string
  reason: 'truncated' | 'unreadable' | 'not-a-regular-file'
  detail?: string
}

export interface ScanDirResult {
  findings: Finding[]
  files: number
  bytes: number
  /** Files not scanned, or not scanned to the end. Symbolic links are never followed. */
  skipped: SkippedFile[]
}

export const DEFAULT_IGNORE = ['node_modules', '.git']

type ScanStream = (input: AsyncIterable<string | Uint8Array>, source: string, opts?: StreamOptions) => Promise<Finding[]>

export function createFileScanning (scanStream: ScanStream) {
  async function scanFile (path: string, opts: ScanFileOptions = {}): Promise<Finding[]> {
    const max = opts.maxBytes
    if (max !== undefined && !(max > 0)) throw new TypeError('maxBytes must be a positive number')
    const stream = createReadStream(path, { highWaterMark: 1024 * 1024, ...(max !== undefined ? { end: max - 1 } : {}) })
    return await scanStream(stream, path, opts)
  }

  async function scanDir (root: string, opts: ScanDirOptions = {}): Promise<ScanDirResult> {
    const ignore = [...(opts.defaultIgnore === false ? [] : DEFAULT_IGNORE), ...(opts.ignore ?? [])]
    const ignored = (rel: string, name: string) => ignore.some(i => typeof i === 'string' ? i === name || i === rel : i.test(rel))
    const result: ScanDirResult = { findings: [], files: 0, bytes: 0, skipped: [] }

    async function visit (dir: string): Promise<void> {
      const entries: Array<{ name: string, dir: boolean, file: boolean }> = []
      try {
        for await (const e of await opendir(dir)) entries.push({ name: e.name, dir: e.isDirectory(), file: e.isFile() })
      } catch (err) {
        if (dir === root) throw err
        result.skipped.push({ path: dir, reason: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? (err as Error).message })
        return
      }
      entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
      for (const e of entries) {
        const path = join(dir, e.name)
        const rel = relative(root, path).split(sep).join('/')
        if (ignored(rel, e.name)) continue
        if (e.dir) {
          await visit(path)
        } else if (!e.file) {
          result.skipped.push({ path, reason: 'not-a-regular-file' })
        } else {
          try {
            const { size } = await lstat(path)
            result.findings.push(...await scanFile(path, opts))
            result.files++
            result.bytes += opts.maxBytes !== undefined ? Math.min(size, opts.maxBytes) : size
            if (opts.maxBytes !== undefined && size > opts.maxBytes) {
              result.skipped.push({ path, reason: 'truncated', detail: `scanned ${opts.maxBytes} of ${size} bytes` })
            }
          } catch (err) {
            result.skipped.push({ path, reason: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? (err as Error).message })
          }
        }
      }
    }

    await visit(root)
    return result
  }

  return { scanFile, scanDir }
}
