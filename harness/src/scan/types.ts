// The leak scanner's result and option shapes, apart from the scanner so that the file scanning it
// builds on (files.ts) and the scanner itself both import them without importing each other.
import type { DirectEncoding } from './canary-index.ts'
import type { DecoderName } from './decoders.ts'

/**
 * How the leak was written, outermost layer first: `raw`, `hex`, `base64`, `base64url`, `url`
 * (percent-encoded), `json` (escaped), or layers joined by `+`, e.g. `url+base64` for a
 * percent-encoded base64 blob.
 */
export type Encoding = DirectEncoding | DecoderName | `${DecoderName}+${string}`

export interface Finding {
  kind: 'canary' | 'rule'
  /** `canary:<index>` or `rule:<rule id>`. */
  id: string
  /** Index into the scanner's `canaries` (canary findings). */
  canary?: number
  /** Rule id (rule findings). */
  rule?: string
  encoding: Encoding
  /** `full`: the whole secret is there; `partial`: a run of at least MIN_RUN of its characters. */
  match: 'full' | 'partial'
  /** Whole secret characters the match proves (canary findings), or the match length (rules). */
  covered: number
  source: string
  /** Byte offset of the first byte of the leak (in the UTF-8 encoding of a string input). */
  offset: number
  length: number
  /** 1-based line and byte column of `offset`. */
  line: number
  column: number
  /** Where the leak sits, with the leak itself replaced: `...key=«tnz_acme_****»&limit=10...`. */
  preview: string
}

export interface StreamOptions {
  /**
   * Bytes kept from one chunk to the next. A leak (including the encoded token around it) up to
   * three quarters of this long is found whole even when chunks split it. Default 64 KiB.
   */
  overlapBytes?: number
  /** Scan once this many new bytes are buffered. Default 1 MiB. */
  chunkBytes?: number
}
