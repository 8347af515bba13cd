// The event stream of contract 4 over SSE, its public health route, and the control API's
// POST /__harness/events (7.4). The stream's faults (7.2) are decided once per connection from the
// fault plan; every stream, frame, drop, resume and fault goes into the record (7.3).
import type { ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiError, MESSAGES, type ErrorDetail } from '../errors.ts'
import { envelopeSchema } from '../envelope.ts'
import { createEventGenerator } from '../domain/event-generator.ts'
import { isValidSubject, parseSubjects } from '../domain/event-log/subjects.ts'
import type { SseFaultDecision } from '../domain/fault-plan.ts'
import { eventBody, retryFrame } from '../sse/frames.ts'
import { serializeError } from '../logger.ts'
import { valueTooDeep } from '../domain/json-limits.ts'
import { createStreamRegistry } from '../sse/registry.ts'
import { SseStream, type SseContext } from '../sse/stream.ts'
import { recordedSubjects } from '../domain/pipeline.ts'

const ID_RE = /^\d{1,15}$/
const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // Proxies (nginx) must pass frames through as they are written.
  'x-accel-buffering': 'no'
}

type StreamSlots = { acquire (keyId: string): boolean, release (keyId: string): void }

/** Used only if the rate-limit plugin did not decorate `streamSlots` (contract 5.5). */
function fallbackSlots (max: number): StreamSlots {
  const open = new Map<string, number>()
  return {
    acquire (keyId) {
      const n = open.get(keyId) ?? 0
      if (n >= max) return false
      open.set(keyId, n + 1)
      return true
    },
    release (keyId) {
      const n = (open.get(keyId) ?? 1) - 1
      if (n <= 0) open.delete(keyId)
      else open.set(keyId, n)
    }
  }
}

/**
 * node:http keeps the response's header block for the life of the response, built by `+=` one header
 * at a time: a tree of ~40 cons-string nodes (~1.3 KB) per open stream. Reading a character makes V8
 * flatten it in place, which frees the tree. Streams live long, so this is per-stream memory.
 */
function flattenHeaderBlock (res: ServerResponse): void {
  const header = (res as unknown as { _header?: unknown })._header
  if (typeof header === 'string' && header.length > 0) header.charCodeAt(header.length - 1)
}

/** `last_event_id` / `Last-Event-ID` (4.2): the header wins; empty means absent. */
function resumeId (request: FastifyRequest, d: ErrorDetail[]): { id: number | undefined, via: 'header' | 'query' | undefined } {
  const h = request.headers['last-event-id']
  if (typeof h === 'string' && h.length > 0) {
    if (!ID_RE.test(h.trim())) { d.push({ field: 'Last-Event-ID', message: 'must be a non-negative integer event id' }); return { id: undefined, via: undefined } }
    return { id: Number(h.trim()), via: 'header' }
  }
  const q = (request.query as Record<string, unknown>).last_event_id
  if (q === undefined || q === '') return { id: undefined, via: undefined }
  if (typeof q !== 'string' || !ID_RE.test(q)) { d.push({ field: 'last_event_id', message: 'must be a non-negative integer event id' }); return { id: undefined, via: undefined } }
  return { id: Number(q), via: 'query' }
}

export default async function eventRoutes (app: FastifyInstance) {
  const mock = app.mock
  const cfg = mock.config.events
  const log = mock.events
  const registry = createStreamRegistry({ heartbeatMs: cfg.heartbeatMs })
  const defaultRetry = retryFrame(cfg.retryMs)
  const slots: StreamSlots = app.hasDecorator('streamSlots') ? app.streamSlots : fallbackSlots(mock.config.rateLimit.maxStreamsPerKey)
  const tooManyStreams = new ApiError('too_many_streams', MESSAGES.too_many_streams, [{ field: 'X-API-Key', message: `at most ${mock.config.rateLimit.maxStreamsPerKey} concurrent streams per key` }])
  const unhealthy = new ApiError('service_unavailable', 'The event backend is not reachable; retry after Retry-After seconds.', [{ field: 'retryAfter', message: '1' }], { 'retry-after': '1' })
  let streamCounter = 0

  const keyState = (keyId: string): 'live' | 'revoked' | 'expired' => {
    if (mock.keys.isLive(keyId)) return 'live'
    return mock.keys.key(keyId)?.revokedAtMs === undefined ? 'expired' : 'revoked'
  }
  // Traced streams turn their record entries into span events (plugins/telemetry.ts; the same function when off).
  const record = app.telemetry.recorder(mock.record.append.bind(mock.record))
  const sse: SseContext = {
    maxBufferedBytes: cfg.maxBufferedBytes,
    keyState,
    record,
    now: mock.now,
    onClosed (s) {
      registry.remove(s)
      slots.release(s.keyId)
      // The stream's own request entry (7.3), now that its response has ended.
      app.recordRequest(s.owner as FastifyRequest, 200)
    },
    onError (err, s) {
      app.log.error({ err: serializeError(err), streamId: s.streamId, requestId: s.requestId }, 'event stream failed: closed it (other streams go on)')
    }
  }

  const generator = createEventGenerator({
    rate: cfg.generatorRate,
    seed: mock.config.seed,
    now: mock.now,
    tenants: () => mock.keys.tenants().map((t) => t.id),
    publish: (tenantId, subject, data) => app.telemetry.publish(log, tenantId, subject, data),
    onError: (err) => app.log.warn({ err: { message: err.message } }, 'generated event not published')
  })

  mock.keys.onRevoke((key) => { registry.closeKey(key.id, 'revoked') })
  mock.onReset(() => {
    registry.closeAll('reset')
    generator.reset()
    log.reset().catch((err: Error) => app.log.warn({ err: { message: err.message } }, 'event log reset failed'))
  })
  app.addHook('onReady', async () => { generator.start() })
  app.addHook('preClose', async () => {
    generator.stop()
    registry.closeAll('shutdown')
  })

  app.get('/api/events/health', {
    config: { public: true, rateLimit: false },
    schema: { response: { 200: envelopeSchema({ type: 'object', properties: { status: { type: 'string' } } }) } }
  }, function (request, reply) {
    if (!log.healthy()) throw unhealthy
    reply.send({ data: { status: 'ok' }, meta: { requestId: request.id, timestamp: new Date(mock.now()).toISOString() } })
  })

  app.get('/api/events/stream', { config: { scope: 'events:read' } }, async function (request, reply) {
    const auth = request.state.auth!
    const d: ErrorDetail[] = []
    const rawSubjects = (request.query as Record<string, unknown>).subjects
    const subjects = parseSubjects(Array.isArray(rawSubjects) ? rawSubjects.join(',') : rawSubjects as string | undefined)
    if ('errors' in subjects) for (const message of subjects.errors) d.push({ field: 'subjects', message })
    const resume = resumeId(request, d)
    if (d.length > 0) throw new ApiError('validation_error', 'The stream request is invalid; see details.', d)
    if (!('filter' in subjects)) throw new Error('unreachable')
    // HEAD (RFC 9110 9.3.2): the headers a GET would get, no body, no stream and no slot taken.
    if (request.method === 'HEAD') {
      reply.headers(SSE_HEADERS).code(200).send()
      return
    }

    if (!slots.acquire(auth.keyId)) throw tooManyStreams
    let streamId: string
    let faults: SseFaultDecision | undefined
    let after = resume.id
    let duplicateUpTo = 0
    try {
      streamId = `str_${(++streamCounter).toString().padStart(6, '0')}`
      const plan = mock.faults
      faults = plan.hasSse ? plan.sse({ tenantId: auth.tenantId, tenantSlug: auth.tenantSlug, keyId: auth.keyId, method: 'GET', route: '/api/events/stream' }) : undefined
      if (faults?.reject !== undefined) {
        // 7.2: refuse (re)connection attempts with 429 or 503, Retry-After and the envelope (1.5, 5.3).
        const { status, retryAfterS } = faults.reject
        record('fault', { fault: 'sse-reject', status, retryAfterS, labels: faults.labels, streamId, tenant: auth.tenantId, keyId: auth.keyId, requestId: request.id, lastEventId: resume.id ?? null })
        const details = [{ field: 'retryAfter', message: String(retryAfterS) }]
        const headers = { 'retry-after': String(retryAfterS) }
        throw status === 429
          ? new ApiError('rate_limited', MESSAGES.rate_limited, details, headers)
          : new ApiError('service_unavailable', MESSAGES.service_unavailable, details, headers)
      }
      if (!log.healthy()) throw unhealthy
      // Duplicate fault (7.2): on resume, start k events before the requested id. Never across the
      // edge of the retained window, so it cannot turn into a false gap.
      if (faults !== undefined && faults.duplicate > 0 && resume.id !== undefined) {
        const w = await log.window(auth.tenantId)
        const upTo = Math.min(resume.id, w.lastSeq)
        if (resume.id + 1 >= w.firstSeq && upTo >= w.firstSeq) {
          after = Math.max(upTo - faults.duplicate, w.firstSeq - 1)
          duplicateUpTo = upTo
        }
      }
    } catch (err) {
      slots.release(auth.keyId)
      throw err
    }

    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { ...reply.getHeaders(), ...SSE_HEADERS } as Record<string, string>)
    flattenHeaderBlock(res)
    app.telemetry.stream(request, { streamId, lastEventId: resume.id, subjects: subjects.patterns, faults: faults?.labels })
    const retryMs = faults?.retryMs ?? cfg.retryMs
    res.write(faults?.retryMs === undefined ? defaultRetry : retryFrame(faults.retryMs))

    record('stream', {
      phase: 'open',
      streamId,
      tenant: auth.tenantId,
      keyId: auth.keyId,
      requestId: request.id,
      subjects: recordedSubjects(subjects.patterns),
      lastEventId: resume.id ?? null,
      retryMs,
      faults: faults === undefined || faults.labels.length === 0 ? null : faults.labels
    })
    const stream = new SseStream(sse, {
      streamId,
      res,
      tenantId: auth.tenantId,
      keyId: auth.keyId,
      requestId: request.id,
      filter: subjects.filter,
      faults,
      duplicateUpTo,
      resumedFrom: resume.id,
      owner: request
    })
    registry.add(stream)
    if (faults?.retryMs !== undefined) stream.fault('sse-retry', { retryMs: faults.retryMs, labels: faults.labels })
    if (resume.id !== undefined) {
      record('resume', { streamId, tenant: auth.tenantId, keyId: auth.keyId, requestId: request.id, lastEventId: resume.id, via: resume.via, from: (after ?? resume.id) + 1 })
    }
    if (duplicateUpTo > 0) stream.fault('sse-duplicate', { count: faults!.duplicate, from: after! + 1, to: duplicateUpTo, labels: faults!.labels })

    // The client may have gone while this handler awaited: 'close' has fired already and will not again.
    if (res.destroyed) { stream.onClose(); return }
    try {
      stream.attach(await log.subscribe(auth.tenantId, { after }, stream))
    } catch (err) {
      stream.error(err instanceof Error ? err : new Error(String(err)))
    }
  })

  const maxDepth = mock.config.bodyMaxDepth
  app.post('/__harness/events', { config: { control: true } }, async function (request, reply) {
    const body = request.body
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError('validation_error', 'The body must be a JSON object {tenant, type, data}.', [{ field: 'body', message: 'must be a JSON object' }])
    }
    const o = body as Record<string, unknown>
    const d: ErrorDetail[] = []
    for (const k of Object.keys(o)) if (k !== 'tenant' && k !== 'type' && k !== 'data') d.push({ field: k, message: 'unknown field' })
    if (typeof o.tenant !== 'string' || o.tenant.length === 0) d.push({ field: 'tenant', message: 'required: the tenant id or slug' })
    if (!isValidSubject(o.type)) d.push({ field: 'type', message: 'required: a subject such as wallet.created (tokens of [A-Za-z0-9_-] separated by dots, no wildcards)' })
    // Validated like a public body (bodyMaxDepth), so nothing stored can fail to serialise later.
    if (o.data !== undefined && valueTooDeep(o.data, maxDepth)) d.push({ field: 'data', message: `nested deeper than ${maxDepth} levels` })
    if (d.length > 0) throw new ApiError('validation_error', 'The event is invalid; see details.', d)
    const tenant = mock.keys.tenant(o.tenant as string)
    if (tenant === undefined) throw new ApiError('not_found', 'No such tenant.', [{ field: 'tenant', message: 'unknown tenant id or slug' }])
    if (!log.healthy()) throw unhealthy
    const e = await app.telemetry.publish(log, tenant.id, o.type as string, o.data === undefined ? {} : o.data, request)
    // `sequence` is the contract's name (7.4); `seq` stays for scripts written against earlier answers.
    reply.code(201).send({ data: { sequence: e.seq, seq: e.seq, ...eventBody(e) }, meta: { requestId: request.id, timestamp: new Date(mock.now()).toISOString() } })
  })
}
