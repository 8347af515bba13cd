// Checks every answer the mock gives in the tests against its own OpenAPI description (GET
// /openapi.json): the status must be documented for the operation, and the body must match the
// documented schema (JSON envelopes, each event frame of a stream, each NDJSON line of the record).
// startMock() in ../helper.ts attaches it to the mock's socket and to app.inject, and close() fails
// with every answer that did not conform.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { buildOpenApi } from '../../src/openapi.ts'

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

const doc = buildOpenApi() as Json
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020
// strict: false because the document carries OpenAPI keywords next to the schemas (x-message, ...).
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }))
ajv.addSchema(doc, 'openapi')

const pointer = (path: Array<string | number>) => 'openapi#/' + path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')
const compiled = new Map<string, ValidateFunction>()
function validator (path: Array<string | number>): ValidateFunction {
  const key = pointer(path)
  let v = compiled.get(key)
  if (v === undefined) { v = ajv.compile({ $ref: key }); compiled.set(key, v) }
  return v
}

function deref (o: Json): { node: Json, path: string[] } | undefined {
  if (typeof o?.$ref !== 'string') return undefined
  const path = (o.$ref as string).replace(/^#\//, '').split('/')
  let node: Json = doc
  for (const p of path) node = node[p]
  return { node, path }
}

const routes = Object.keys(doc.paths as Json).map((p) => ({
  template: p,
  re: new RegExp('^' + p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$')
}))

export interface Violation { method: string, url: string, status: number, problem: string }

function errorsOf (v: ValidateFunction): string {
  return ajv.errorsText(v.errors, { separator: '; ' })
}

/** Every complete SSE event of a stream (blocks ended by a blank line), as event name and data. */
function sseEvents (text: string): Array<{ event: string, data: string }> {
  const out: Array<{ event: string, data: string }> = []
  const blocks = text.split('\n\n')
  blocks.pop() // unfinished (a drop inside a frame): never dispatched
  for (const block of blocks) {
    let event = 'message'
    const data: string[] = []
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7)
      else if (line.startsWith('data: ')) data.push(line.slice(6))
    }
    if (data.length > 0) out.push({ event, data: data.join('\n') })
  }
  return out
}

/** The problems of one answer, none when it conforms. */
export function checkAnswer (method: string, url: string, status: number, contentType: string, body: string | undefined): string[] {
  const path = url.split('?')[0]!
  // HEAD is GET without the body (RFC 9110 9.3.2); Fastify answers it for every GET route.
  if (method === 'HEAD') { method = 'GET'; body = undefined }
  // A literal path wins over a template (/api/keys/validate over /api/keys/{id}), as in Fastify's router.
  const route = routes.filter((r) => r.re.test(path) && doc.paths[r.template][method.toLowerCase()] !== undefined)
    .sort((a, b) => a.template.split('{').length - b.template.split('{').length)[0]
  const op = route === undefined ? undefined : doc.paths[route.template][method.toLowerCase()] as Json | undefined
  if (op === undefined) {
    // Unknown routes: 404 not_found in the envelope (1.6); a method the path lacks: 405 with Allow, or
    // 501 for a method the API never uses; 400/408/431 when the request was not valid or complete HTTP.
    if (![400, 404, 405, 408, 431, 501].includes(status)) return [`status ${status} for an undocumented operation`]
    const v = validator(['components', 'schemas', 'Error'])
    return body === undefined || v(safeJson(body)) ? [] : [`body: ${errorsOf(v)}`]
  }
  let response: Json | undefined = op.responses[String(status)]
  let responsePath: string[] = ['paths', route!.template, method.toLowerCase(), 'responses', String(status)]
  if (response === undefined) return [`status ${status} is not documented for ${method} ${route!.template}`]
  const r = deref(response)
  if (r !== undefined) { response = r.node; responsePath = r.path }
  const media = contentType.split(';')[0]!.trim()
  const content = response.content as Json | undefined
  if (content === undefined) return body === undefined || body.length === 0 ? [] : ['a body where none is documented']
  if (content[media] === undefined) return [`content-type ${media} is not documented (${Object.keys(content).join(', ')})`]
  if (body === undefined) return []
  if (media === 'application/json') {
    const v = validator([...responsePath, 'content', media, 'schema'])
    return v(safeJson(body)) ? [] : [`body: ${errorsOf(v)}`]
  }
  if (media === 'text/event-stream') {
    const problems: string[] = []
    const events = response['x-sse-events'] as Json
    for (const e of sseEvents(body)) {
      const schema = events[e.event] ?? events['*']
      const v = validator(deref(schema)!.path)
      const data = safeJson(e.data) as Json
      if (!v(data)) problems.push(`event ${e.event}: ${errorsOf(v)}`)
      else if (events[e.event] === undefined && data.type !== e.event) problems.push(`event ${e.event}: data.type is ${data.type}`)
    }
    return problems
  }
  if (media === 'application/x-ndjson') {
    return body.split('\n').filter(Boolean).flatMap((l, i) => {
      const o = safeJson(l)
      return typeof o === 'object' && o !== null && Number.isInteger(o.seq) ? [] : [`line ${i + 1} is not a record entry`]
    })
  }
  return []
}

function safeJson (text: string): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  try { return JSON.parse(text) } catch { return Symbol('not JSON') }
}

/** Watch every answer of `app` (its socket and app.inject); returns the violations seen so far. */
export function watchAnswers (app: FastifyInstance): Violation[] {
  const violations: Violation[] = []
  const judge = (method: string, url: string, status: number, contentType: string, body: string | undefined) => {
    for (const problem of checkAnswer(method, url, status, contentType, body)) violations.push({ method, url: url.replace(/tnz_[A-Za-z0-9_-]+/g, 'tnz_…'), status, problem })
  }
  app.server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    const take = (c: unknown, enc?: unknown) => { if (c !== undefined && c !== null && typeof c !== 'function') chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string, typeof enc === 'string' ? enc as BufferEncoding : 'utf8')) }
    let contentType = ''
    const writeHead = res.writeHead
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      const headers = args.find((a) => typeof a === 'object' && a !== null) as Record<string, unknown> | undefined
      for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() === 'content-type') contentType = String(v)
      return Reflect.apply(writeHead, this, args)
    } as typeof res.writeHead
    const write = res.write
    const end = res.end
    res.write = function (this: ServerResponse, c: unknown, ...rest: unknown[]) { take(c, rest[0]); return Reflect.apply(write, this, [c, ...rest]) } as typeof res.write
    res.end = function (this: ServerResponse, c?: unknown, ...rest: unknown[]) { take(c, rest[0]); return Reflect.apply(end, this, [c, ...rest]) } as typeof res.end
    res.once('close', () => {
      // A response that never started (lost-response drops the connection before answering) has nothing to judge.
      if (!res.headersSent) return
      // A body the client hung up on is judged by its status and type only, except a stream's complete frames.
      const type = contentType || String(res.getHeader('content-type') ?? '')
      const complete = res.writableFinished || type.startsWith('text/event-stream')
      judge(req.method ?? 'GET', req.url ?? '/', res.statusCode, type, complete ? Buffer.concat(chunks).toString('utf8') : undefined)
    })
  })
  const inject = app.inject.bind(app) as (o: unknown) => Promise<{ statusCode: number, headers: Record<string, unknown>, payload: string }>
  ;(app as unknown as { inject: unknown }).inject = async (o: { method?: string, url?: string, path?: string } | string) => {
    const res = await inject(o)
    const opts = typeof o === 'string' ? { url: o } : o
    judge(opts.method ?? 'GET', opts.url ?? opts.path ?? '/', res.statusCode, String(res.headers['content-type'] ?? ''), res.payload)
    return res
  }
  return violations
}

/** Throws with every violation seen (and forgets them), for tests that build the app themselves. */
export function assertConforming (violations: Violation[]): void {
  const seen = violations.splice(0)
  if (seen.length > 0) {
    throw new Error(`${seen.length} answer(s) do not conform to the OpenAPI description:\n` + seen.slice(0, 20).map((v) => `  ${v.method} ${v.url} ${v.status}: ${v.problem}`).join('\n'))
  }
}
