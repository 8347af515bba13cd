// The event stream of contract 4 over SSE, its public health route, and the control API's
// POST /__harness/events (7.4). The stream's faults (7.2) are decided once per connection from the
// fault plan; every stream, frame, drop, resume and fault goes into the record (7.3).
import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { ApiError, type ErrorDetail } from '../errors.ts'
import { envelopeSchema, healthSchema } from '../envelope.ts'
import { createEventGenerator } from '../domain/event-generator.ts'
import { isValidSubject } from '../domain/event-log/subjects.ts'
import { createStreamSlots } from '../domain/limiter/stream-slots.ts'
import { eventBody } from '../sse/frames.ts'
import { createStreamRegistry } from '../sse/registry.ts'
import { createEventStreams, parseStreamRequest, SSE_HEADERS } from '../pipeline/index.ts'
import { HARNESS_EVENT } from '../schemas.ts'
import { checkObject } from '../validate.ts'
import { serializeError } from '../logger.ts'
import { valueTooDeep } from '../domain/json-limits.ts'
import { redactSecrets } from '../domain/secret-windows.ts'

const carriesSecret = (text: string) => redactSecrets(text) !== text

/**
 * node:http keeps the response's header block for the life of the response, built by `+=` one header
 * at a time: a tree of ~40 cons-string nodes (~1.3 KB) per open stream. Reading a character makes V8
 * flatten it in place, which frees the tree. Streams live long, so this is per-stream memory.
 */
function flattenHeaderBlock (res: ServerResponse): void {
  const header = (res as unknown as { _header?: unknown })._header
  if (typeof header === 'string' && header.length > 0) header.charCodeAt(header.length - 1)
}

export default async function eventRoutes (app: FastifyInstance) {
  const mock = app.mock
  const cfg = mock.config.events
  const log = mock.events
  const registry = createStreamRegistry({ heartbeatMs: cfg.heartbeatMs })
  // Without the rate-limit plugin (limits off in a test app) the cap of 5.5 still holds.
  const local = app.hasDecorator('streamSlots') ? app.streamSlots : createStreamSlots({ max: mock.config.rateLimit.maxStreamsPerKey })
  // Instances that share state cap a key's streams over all of them (domain/shared/stream-slots.ts).
  const slots = mock.shared === undefined ? local : mock.shared.streamSlots(local, mock.config.rateLimit.maxStreamsPerKey)
  // The builder the msw handler runs too. Traced streams turn their record entries into span events
  // (plugins/telemetry.ts; the plain append when tracing is off).
  const streams = createEventStreams({
    context: () => mock,
    slots,
    registry,
    record: app.telemetry.recorder(mock.record.append.bind(mock.record)),
    onError: (err, s) => { app.log.error({ err: serializeError(err), streamId: s.streamId, requestId: s.requestId }, 'event stream failed: closed it (other streams go on)') }
  })
  const unhealthy = streams.unhealthy

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
    schema: { response: { 200: envelopeSchema(healthSchema) } }
  }, function (request, reply) {
    if (!log.healthy()) throw unhealthy
    reply.send({ data: { status: 'ok' }, meta: { requestId: request.id, timestamp: new Date(mock.now()).toISOString() } })
  })

  app.get('/api/events/stream', { config: { scope: 'events:read' } }, async function (request, reply) {
    // HEAD (RFC 9110 9.3.2): what a GET would answer, without a body, a stream or a slot.
    if (request.method === 'HEAD') {
      parseStreamRequest(request.headers, request.query as Record<string, unknown>)
      reply.headers(SSE_HEADERS).code(200).send()
      return
    }
    const plan = await streams.prepare(request.state.auth!, request.id, request.headers, request.query as Record<string, unknown>)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { ...reply.getHeaders(), ...SSE_HEADERS } as Record<string, string>)
    flattenHeaderBlock(res)
    app.telemetry.stream(request, { streamId: plan.streamId, lastEventId: plan.resume.id, subjects: plan.patterns, faults: plan.faults?.labels })
    // The stream's own request entry (7.3) is written when its response has ended.
    await streams.start(plan, res, () => { app.recordRequest(request, 200) })
  })

  const maxDepth = mock.config.bodyMaxDepth
  app.post('/__harness/events', { config: { control: true } }, async function (request, reply) {
    const body = request.body
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError('validation_error', 'The body must be a JSON object {tenant, type, data}.', [{ field: 'body', message: 'must be a JSON object' }])
    }
    const o = body as Record<string, unknown>
    const d: ErrorDetail[] = []
    checkObject(HARNESS_EVENT, o, d, ['type'])
    if (!isValidSubject(o.type)) d.push({ field: 'type', message: HARNESS_EVENT.properties.type!['x-message']! })
    // Validated like a public body (bodyMaxDepth), so nothing stored can fail to serialise later.
    if (o.data !== undefined && valueTooDeep(o.data, maxDepth)) d.push({ field: 'data', message: `nested deeper than ${maxDepth} levels` })
    // Events are answered back and sent to every stream of the tenant: a key in one would leave (1.5).
    else if (o.data !== undefined && carriesSecret(JSON.stringify(o.data))) d.push({ field: 'data', message: 'must not contain an API key or a piece of one' })
    if (d.length > 0) throw new ApiError('validation_error', 'The event is invalid; see details.', d)
    const tenant = mock.keys.tenant(o.tenant as string)
    if (tenant === undefined) throw new ApiError('not_found', 'No such tenant.', [{ field: 'tenant', message: 'unknown tenant id or slug' }])
    if (!log.healthy()) throw unhealthy
    const e = await app.telemetry.publish(log, tenant.id, o.type as string, o.data === undefined ? {} : o.data, request)
    // `sequence` is the contract's name (7.4); `seq` stays for scripts written against earlier answers.
    return reply.code(201).send({ data: { sequence: e.seq, seq: e.seq, ...eventBody(e) }, meta: { requestId: request.id, timestamp: new Date(mock.now()).toISOString() } })
  })
}
