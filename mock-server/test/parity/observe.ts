// What the contract suite compares between the two mocks: each response normalised to status, headers
// and body, with only what must differ between two runs (generated request ids, transport headers)
// replaced by its shape. Timestamps stay: both mocks run on the same fake clock.
import { REQUEST_ID_GENERATED } from '../helper.ts'

export interface Observation {
  label: string
  status: number
  headers: Record<string, string>
  body: unknown
}

// Transport details each side sets its own way (the socket's, or none in process).
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding'])

function shapeOfId (v: unknown): unknown {
  return typeof v === 'string' && REQUEST_ID_GENERATED.test(v) ? '<generated request id>' : v
}

function normaliseBody (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normaliseBody)
  if (v === null || typeof v !== 'object') return v
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) out[k] = k === 'requestId' ? shapeOfId(x) : normaliseBody(x)
  return out
}

export function normaliseHeaders (h: Headers): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of h) if (!TRANSPORT_HEADERS.has(k)) out[k] = k === 'x-request-id' ? String(shapeOfId(v)) : v
  return out
}

/** Read and normalise a whole response. */
export async function observe (label: string, res: Response): Promise<Observation> {
  const text = await res.text()
  const json = /^application\/json/.test(res.headers.get('content-type') ?? '')
  return { label, status: res.status, headers: normaliseHeaders(res.headers), body: json && text.length > 0 ? normaliseBody(JSON.parse(text)) : text }
}

/** A stream's bytes as text, and how it ended: still open when read stopped, ended cleanly, or cut. */
export interface StreamRead {
  text: string
  ending: 'open' | 'end' | 'cut'
}

/**
 * Reads an event stream as it comes. `until(pred)` reads until pred(text) holds or the stream ends;
 * it throws after timeoutMs, so a stream that never delivers fails the test instead of hanging it.
 */
export function streamReader (res: Response, ac: AbortController, timeoutMs = 5000) {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const state: StreamRead = { text: '', ending: 'open' }
  return {
    state,
    async until (pred: (text: string) => boolean, what = 'the expected frames'): Promise<StreamRead> {
      let timedOut = false
      const timer = setTimeout(() => { timedOut = true; void reader.cancel() }, timeoutMs)
      try {
        while (state.ending === 'open' && !pred(state.text)) {
          let r: Awaited<ReturnType<typeof reader.read>>
          try {
            r = await reader.read()
          } catch {
            state.ending = 'cut'
            break
          }
          if (timedOut) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(state.text)}`)
          if (r.done) { state.ending = 'end'; break }
          state.text += decoder.decode(r.value, { stream: true })
        }
      } finally {
        clearTimeout(timer)
      }
      return state
    },
    close (): void {
      if (!ac.signal.aborted) ac.abort()
    }
  }
}

/** Read until `enough(text)` holds or the stream ends, then abort it. */
export async function readStream (res: Response, ac: AbortController, enough: (text: string) => boolean, timeoutMs = 5000): Promise<StreamRead> {
  const r = streamReader(res, ac, timeoutMs)
  try {
    return { ...await r.until(enough) }
  } finally {
    r.close()
  }
}

/** The ids of complete event frames, in order. */
export function idsOf (text: string): number[] {
  return text.split('\n\n').slice(0, -1).flatMap((b) => {
    const m = /^id: (\d+)$/m.exec(b)
    return m !== null && b.split('\n').some((l) => l.startsWith('data:')) ? [Number(m[1])] : []
  })
}

/** Complete event blocks (`id`/`event`/`data` lines ending in a blank line). */
export function countEvents (text: string): number {
  return text.split('\n\n').slice(0, -1).filter((b) => b.split('\n').some((l) => l.startsWith('data:'))).length
}
