// A copy of captured output safe to keep: every leak the scanner found (a canary in any encoding, or
// a rule's secret) replaced by a marker naming what was there, never the secret itself.
import type { Finding } from './types.ts'

/** `buf` with each finding's bytes replaced by `«redacted <id>»`; overlapping findings merge. */
export function redactFindings (buf: Uint8Array, findings: readonly Finding[]): Buffer {
  const spans = [...findings].sort((a, b) => a.offset - b.offset)
  const parts: Buffer[] = []
  let pos = 0
  for (let i = 0; i < spans.length;) {
    const start = spans[i]!.offset
    let end = start + spans[i]!.length
    const ids = new Set([spans[i]!.id])
    for (i++; i < spans.length && spans[i]!.offset < end; i++) {
      end = Math.max(end, spans[i]!.offset + spans[i]!.length)
      ids.add(spans[i]!.id)
    }
    if (start > pos) parts.push(Buffer.from(buf.subarray(pos, start)))
    parts.push(Buffer.from(`«redacted ${[...ids].join(' ')}»`))
    pos = Math.max(pos, end)
  }
  parts.push(Buffer.from(buf.subarray(pos)))
  return Buffer.concat(parts)
}
