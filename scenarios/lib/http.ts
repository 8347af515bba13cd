// The one place that builds k6 requests: every request gets `tags.name` (so ids and cursors in URLs
// never explode metric cardinality), a fresh W3C traceparent, and an explicit list of expected
// statuses (so an intended 409 or 429 is not counted in http_req_failed).
import http from 'k6/http'
import type { Params, RefinedResponse } from 'k6/http'
import { randomBytes } from 'k6/crypto'
import { createTracer, toHex } from './trace.ts'

export type Response = RefinedResponse<'text'>

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  url: string
  /** tags.name: the route pattern, never a URL with ids in it. */
  name: string
  body?: string
  headers?: Record<string, string>
  /** Statuses that count as expected responses; default 200-399. */
  expected?: number[]
  /** k6 duration string or ms. */
  timeout?: string | number
  tags?: Record<string, string>
}

const tracer = createTracer((n) => new Uint8Array(randomBytes(n)))

function iterationKey (): string {
  const vu = typeof __VU === 'number' ? __VU : 0
  const iter = typeof __ITER === 'number' ? __ITER : 0
  return `${vu}:${iter}`
}

/** `bytes` random bytes as hex, for idempotency keys and unique names. */
export function randomHex (bytes: number): string {
  return toHex(new Uint8Array(randomBytes(bytes)))
}

/** A traceparent for one request: the trace is the VU iteration, the span is the request. */
export function traceparent (): string {
  return tracer.traceparent(iterationKey())
}

const callbacks = new Map<string, ReturnType<typeof http.expectedStatuses>>()
function expectedCallback (statuses: number[]) {
  const key = statuses.join(',')
  let cb = callbacks.get(key)
  if (cb === undefined) {
    cb = http.expectedStatuses(...statuses)
    callbacks.set(key, cb)
  }
  return cb
}

export function paramsOf (spec: RequestSpec): Params {
  const headers: Record<string, string> = { traceparent: traceparent() }
  if (spec.body !== undefined) headers['Content-Type'] = 'application/json'
  if (spec.headers !== undefined) for (const k of Object.keys(spec.headers)) headers[k] = spec.headers[k]!
  const p: Params = { headers, tags: { ...spec.tags, name: spec.name }, responseType: 'text' }
  if (spec.timeout !== undefined) p.timeout = spec.timeout
  if (spec.expected !== undefined) p.responseCallback = expectedCallback(spec.expected)
  return p
}

export function send (spec: RequestSpec): Response {
  return http.request(spec.method, spec.url, spec.body ?? null, paramsOf(spec)) as Response
}

/** Requests in parallel (k6 caps the parallelism with the `batch` and `batchPerHost` options). */
export function sendBatch (specs: RequestSpec[]): Response[] {
  const reqs = specs.map((s) => ({ method: s.method, url: s.url, body: s.body ?? null, params: paramsOf(s) }))
  return http.batch(reqs) as unknown as Response[]
}

/** The parsed JSON body, or undefined when the body is not JSON. */
export function json (res: { body: unknown }): unknown {
  if (typeof res.body !== 'string' || res.body === '') return undefined
  try {
    return JSON.parse(res.body)
  } catch {
    return undefined
  }
}

/** The error envelope's code and message (contract 1.5), for messages and checks. */
export function errorOf (res: { body: unknown }): { code: string | undefined, message: string | undefined, details: Array<{ field?: string, message?: string }> } {
  const b = json(res) as { error?: { code?: unknown, message?: unknown, details?: unknown } } | undefined
  const e = b?.error
  return {
    code: typeof e?.code === 'string' ? e.code : undefined,
    message: typeof e?.message === 'string' ? e.message : undefined,
    details: Array.isArray(e?.details) ? e.details as Array<{ field?: string, message?: string }> : []
  }
}

export function query (q: Record<string, string | number | undefined>): string {
  const parts: string[] = []
  for (const k of Object.keys(q)) {
    const v = q[k]
    if (v !== undefined) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
  }
  return parts.length === 0 ? '' : '?' + parts.join('&')
}
