// The OpenAPI 3.1 description of the mock (REST API, event stream, control API), built from the schemas
// the mock itself uses: request schemas from schemas.ts (what validate.ts checks), response schemas
// from envelope.ts (what Fastify serialises with), error codes and statuses from errors.ts. Served at
// GET /openapi.json and shipped in the package as dist/openapi.json (scripts/build.ts).
import { ERROR_CODES, type ErrorCode } from './errors.ts'
import { IDEMPOTENCY_KEY_RE } from './domain/idempotency-store.ts'
import { envelopeSchema, errorSchema, healthSchema, keyCreatedSchema, keySchema, keyValidationSchema, metaSchema, walletSchema } from './envelope.ts'
import {
  EVENT, EVENT_ID, EVENT_STREAM_QUERY, FAULT_PLAN, HARNESS_EVENT, HARNESS_KEY_CREATE, HARNESS_TENANT_CREATE, KEY_CREATE,
  RECORD_QUERY, STREAM_GAP, WALLET_CREATE, WALLET_LIST_QUERY, type ObjectSchema
} from './schemas.ts'

type Json = Record<string, unknown>

const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` })

/** Statuses injected by the fault plan's `error` fault on any non-public, non-control route (7.2). */
const FAULT_STATUSES = [500, 502, 503] as const

/**
 * Statuses the HTTP layer answers before a route runs, each in the envelope with `validation_error`
 * naming the field: 408 headers or body too slow, 431 headers too large (413 is added where a body is
 * accepted). 405 (with Allow) and 501 answer a method no operation of the path has.
 */
const HTTP_LAYER_STATUSES = [408, 431] as const
const METHOD_STATUSES = [405, 501] as const
const HTTP_LAYER_TEXT: Record<number, string> = {
  405: 'the path exists for other methods (see Allow)',
  408: 'the headers or body did not arrive in time',
  413: 'the body is over the size or nesting-depth limit',
  431: 'the request headers are too large',
  501: 'a method the API never uses'
}

function codesFor (status: number): ErrorCode[] {
  return (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => ERROR_CODES[c] === status)
}

/** One response per error status, naming the codes it carries (contract 1.6). */
function errorResponse (status: number): Json {
  const codes = codesFor(status)
  const extra = status === 502 ? '`internal_error`, injected by an `error` fault (7.2)' : '`validation_error`'
  const headers: Json = { 'X-Request-Id': ref('headers', 'X-Request-Id'), 'X-API-Version': ref('headers', 'X-API-Version') }
  if (status === 429 || status === 503) headers['Retry-After'] = ref('headers', 'Retry-After')
  if (status === 405) headers.Allow = { description: 'The methods this path answers.', schema: { type: 'string' } }
  const why = HTTP_LAYER_TEXT[status] === undefined ? '' : ` (${HTTP_LAYER_TEXT[status]})`
  return {
    description: `Error envelope (1.5); error.code: ${codes.length > 0 ? codes.map((c) => `\`${c}\``).join(', ') : extra}${why}.`,
    headers,
    content: { 'application/json': { schema: ref('schemas', 'Error') } }
  }
}

function queryParameters (schema: ObjectSchema): Json[] {
  return Object.entries(schema.properties).map(([name, s]) => ({
    name,
    in: 'query',
    required: schema.required?.includes(name) === true,
    ...(s.description === undefined ? {} : { description: s.description }),
    schema: s
  }))
}

interface Op {
  summary: string
  tags: string[]
  /** api: a tenant key; admin: X-Admin-API-Key; control: the control API; public: no key. */
  access: 'api' | 'admin' | 'control' | 'public'
  /** The success status and its response object. */
  ok: [number, Json]
  params?: Json[]
  body?: Json
  /** Error statuses beyond the ones every operation of its access kind can answer. */
  errors?: number[]
  description?: string
}

const rateLimitHeaders = {
  'X-RateLimit-Limit': ref('headers', 'X-RateLimit-Limit'),
  'X-RateLimit-Remaining': ref('headers', 'X-RateLimit-Remaining'),
  'X-RateLimit-Reset': ref('headers', 'X-RateLimit-Reset')
}

function json (description: string, schema: Json, headers: Json = {}): Json {
  return { description, headers: { 'X-Request-Id': ref('headers', 'X-Request-Id'), 'X-API-Version': ref('headers', 'X-API-Version'), ...headers }, content: { 'application/json': { schema } } }
}

function operation (op: Op): Json {
  const statuses = new Set<number>([400, ...HTTP_LAYER_STATUSES, ...(op.errors ?? [])])
  if (op.access === 'api' || op.access === 'admin') {
    for (const s of [401, 403, 429, ...FAULT_STATUSES]) statuses.add(s)
  }
  if (op.access === 'control') { statuses.add(401); statuses.add(403) }
  if (op.body !== undefined) statuses.add(413)
  const [okStatus, okResponse] = op.ok
  const withLimits = op.access === 'api' || op.access === 'admin'
  const responses: Json = {
    [okStatus]: withLimits ? { ...okResponse, headers: { ...(okResponse.headers as Json), ...rateLimitHeaders } } : okResponse
  }
  for (const s of [...statuses].sort((a, b) => a - b)) responses[s] = ref('responses', `Error${s}`)
  const security = op.access === 'api'
    ? [{ ApiKey: [], TenantId: [] }, { Bearer: [], TenantId: [] }]
    : op.access === 'admin' ? [{ AdminApiKey: [] }] : op.access === 'control' ? [{}, { HarnessToken: [] }] : []
  return {
    summary: op.summary,
    ...(op.description === undefined ? {} : { description: op.description }),
    tags: op.tags,
    security,
    parameters: [ref('parameters', 'X-Request-Id'), ref('parameters', 'X-API-Version'), ref('parameters', 'X-Network'), ...(op.params ?? [])],
    ...(op.body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: op.body } } } }),
    responses
  }
}

const idempotencyKey = ref('parameters', 'X-Idempotency-Key')
const control = (summary: string, ok: [number, Json], more: Partial<Op> = {}): Json => operation({ summary, tags: ['control'], access: 'control', ok, ...more })

function keyAdminPaths (prefix: string, alias: boolean): Json {
  const tag = ['keys']
  const note = alias ? 'The same as the /api/keys route (the mock answers at both prefixes).' : undefined
  const d = note === undefined ? {} : { description: note }
  return {
    [prefix]: {
      post: operation({ summary: 'Create a key of the admin key\'s tenant; the full key is shown once (2.6)', tags: tag, access: 'admin', ok: [201, json('The new key', envelopeSchema(ref('schemas', 'KeyCreated')))], params: [idempotencyKey], body: ref('schemas', 'KeyCreate'), errors: [409, 422], ...d })
    },
    [`${prefix}/{id}`]: {
      delete: operation({ summary: 'Revoke a key; its open streams close at once (2.5, 2.6)', tags: tag, access: 'admin', ok: [200, json('The revoked key', envelopeSchema(ref('schemas', 'Key')))], params: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], errors: [404], ...d })
    },
    [`${prefix}/tenant/{tenantId}`]: {
      get: operation({ summary: 'List the keys of the admin key\'s tenant, never a secret (2.6)', tags: tag, access: 'admin', ok: [200, json('The keys', envelopeSchema({ type: 'array', items: ref('schemas', 'Key') }))], params: [{ name: 'tenantId', in: 'path', required: true, schema: { type: 'string' } }], ...d })
    },
    [`${prefix}/validate`]: {
      get: operation({ summary: 'Describe the calling key, without the data envelope (2.6)', tags: tag, access: 'api', ok: [200, json('The key is valid', ref('schemas', 'KeyValidation'))], ...d })
    }
  }
}

/**
 * Every inline copy of a component schema (envelope.ts's schemas are embedded where routes use them)
 * becomes a $ref to it, so generated clients get one named type per schema.
 */
function refComponents (doc: Json): Json {
  const components = (doc.components as Json).schemas as Record<string, unknown>
  const byJson = new Map(Object.entries(components).map(([name, schema]) => [JSON.stringify(schema), name]))
  const walk = (node: unknown, top: boolean): unknown => {
    if (Array.isArray(node)) return node.map((x) => walk(x, false))
    if (typeof node !== 'object' || node === null) return node
    const name = top ? undefined : byJson.get(JSON.stringify(node))
    if (name !== undefined) return ref('schemas', name)
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, false)]))
  }
  return {
    ...doc,
    paths: walk(doc.paths, false),
    components: { ...(doc.components as Json), schemas: Object.fromEntries(Object.entries(components).map(([n, sc]) => [n, walk(sc, true)])) }
  }
}

/** The document. Pure: the same object for the same code, so the served and the shipped copies agree. */
export function buildOpenApi (): Json {
  return refComponents(document())
}

function document (): Json {
  const errorStatuses = [...new Set<number>([...Object.values(ERROR_CODES), ...FAULT_STATUSES, ...HTTP_LAYER_STATUSES, ...METHOD_STATUSES, 413])].sort((a, b) => a - b)
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tenzro Platform API (tenzro-harness mock)',
      version: '1',
      description: 'The Tenzro Platform API as the tenzro-harness mock implements it, plus its control API (/__harness). Section numbers such as (4.4) refer to docs/api.md of the tenzro-harness package. Field messages of validation errors are in the `x-message` of each request field.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' }
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    servers: [{ url: 'https://api.platform.tenzro.com', description: 'The real API (1.1)' }, { url: 'http://127.0.0.1:4010', description: 'tenzro-mock with its default options' }],
    tags: [
      { name: 'wallets', description: 'Wallets (3)' },
      { name: 'events', description: 'Event stream over Server-Sent Events (4)' },
      { name: 'keys', description: 'Key administration (2.6)' },
      { name: 'health', description: 'Public health (1.7)' },
      { name: 'control', description: 'The mock\'s control API (7), not part of the real API: loopback only unless opened, X-Harness-Token when the mock has a control token' }
    ],
    paths: {
      '/health': {
        get: operation({ summary: 'Health; public, never rate limited (1.7)', tags: ['health'], access: 'public', ok: [200, json('Up', envelopeSchema(ref('schemas', 'Health')))] })
      },
      '/api/wallet/list': {
        get: operation({
          summary: 'The tenant\'s wallets, newest first, by cursor (3.2)',
          tags: ['wallets'],
          access: 'api',
          ok: [200, json('A page of wallets; meta.cursor is null on the last page', envelopeSchema({ type: 'array', items: ref('schemas', 'Wallet') }))],
          params: queryParameters(WALLET_LIST_QUERY)
        })
      },
      '/api/wallet/create': {
        post: operation({
          summary: 'Create a wallet; publishes wallet.created (3.3)',
          description: 'With X-Idempotency-Key, a retry with the same body gets the stored answer with Idempotent-Replayed: true (6.1).',
          tags: ['wallets'],
          access: 'api',
          ok: [201, json('The wallet', envelopeSchema(ref('schemas', 'Wallet')), { 'Idempotent-Replayed': ref('headers', 'Idempotent-Replayed') })],
          params: [idempotencyKey],
          body: ref('schemas', 'WalletCreate'),
          errors: [409, 422]
        })
      },
      ...keyAdminPaths('/api/keys', false),
      ...keyAdminPaths('/api/apikeys', true),
      '/api/events/stream': {
        get: operation({
          summary: 'The tenant\'s events as Server-Sent Events, resumable by Last-Event-ID (4)',
          description: 'Opens with `retry: <ms>`; each event is `id: <sequence>`, `event: <subject>` and one `data:` line holding an Event; `: heartbeat` comments keep it alive; `event: stream.gap` (data: StreamGap) reports events lost before the oldest retained one (4.4). `x-sse-events` names the data schema of each event name.',
          tags: ['events'],
          access: 'api',
          ok: [200, {
            description: 'The stream',
            headers: { 'X-Request-Id': ref('headers', 'X-Request-Id'), 'X-API-Version': ref('headers', 'X-API-Version') },
            content: { 'text/event-stream': { schema: { type: 'string' } } },
            'x-sse-events': { '*': ref('schemas', 'Event'), 'stream.gap': ref('schemas', 'StreamGap') }
          }],
          params: [{ name: 'Last-Event-ID', in: 'header', required: false, description: 'Resume after this id; wins over last_event_id.', schema: EVENT_ID }, ...queryParameters(EVENT_STREAM_QUERY)]
        })
      },
      '/api/events/health': {
        get: operation({ summary: 'Health of the event service; 503 while its backend is unreachable (1.7)', tags: ['health'], access: 'public', ok: [200, json('Up', envelopeSchema(ref('schemas', 'Health')))], errors: [503] })
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics of the mock (text format 0.0.4, or OpenMetrics 1.0 with exemplars when asked); absent with metrics off',
          tags: ['health'],
          security: [],
          responses: {
            200: {
              description: 'The exposition; no key, request id or event id in any label or value',
              content: {
                'text/plain': { schema: { type: 'string' } },
                'application/openmetrics-text': { schema: { type: 'string' } }
              }
            },
            404: ref('responses', 'Error404')
          }
        }
      },
      '/openapi.json': {
        get: { summary: 'This document', tags: ['health'], security: [], responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } }
      },
      '/__harness/tenants': {
        post: control('Create a tenant and its first key; the only time the full key is shown (7.4)', [201, json('The tenant and key', envelopeSchema({
          type: 'object',
          properties: { tenant: { type: 'object', properties: { id: { type: 'string' }, slug: { type: 'string' } }, required: ['id', 'slug'] }, key: { type: 'object', properties: { id: { type: 'string' }, key: { type: 'string' } }, required: ['id', 'key'] } },
          required: ['tenant', 'key']
        }))], { body: ref('schemas', 'HarnessTenantCreate') }),
        get: control('Every tenant with its wallet count', [200, json('The tenants', envelopeSchema({
          type: 'array',
          items: { type: 'object', properties: { id: { type: 'string' }, slug: { type: 'string' }, quota: { type: ['integer', 'null'] }, wallets: { type: 'integer' } }, required: ['id', 'slug', 'quota', 'wallets'] }
        }))])
      },
      '/__harness/keys': {
        post: control('Create a key of a tenant (7.4)', [201, json('The key', envelopeSchema({ type: 'object', properties: { id: { type: 'string' }, key: { type: 'string' } }, required: ['id', 'key'] }))], { body: ref('schemas', 'HarnessKeyCreate'), errors: [404] })
      },
      '/__harness/keys/{id}': {
        delete: control('Revoke a key; its open streams close at once (7.4)', [200, json('The revoked key', envelopeSchema({ type: 'object', properties: { id: { type: 'string' }, revokedAt: { type: 'string', format: 'date-time' } }, required: ['id', 'revokedAt'] }))], { params: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], errors: [404] })
      },
      '/__harness/tenants/{tenant}/revoke-keys': {
        post: control('Revoke every live key of the tenant in one step; each key\'s open streams close at once (incident drill)', [200, json('The revoked keys', envelopeSchema({ type: 'object', properties: { tenant: { type: 'string' }, revoked: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, revokedAt: { type: 'string', format: 'date-time' } }, required: ['id', 'revokedAt'] } } }, required: ['tenant', 'revoked'] }))], { params: [{ name: 'tenant', in: 'path', required: true, schema: { type: 'string' } }], errors: [404] })
      },
      '/__harness/tenants/{tenant}/hostile': {
        post: control('Publish the hostile drill\'s events on the tenant\'s stream and add its hostile wallets to the list', [201, json('What was injected', envelopeSchema({ type: 'object', properties: { tenant: { type: 'string' }, events: { type: 'array', items: { type: 'object', properties: { seq: { type: 'integer' }, type: { type: 'string' }, kind: { type: 'string' } }, required: ['seq', 'type', 'kind'] } }, wallets: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, kind: { type: 'string' } }, required: ['id', 'kind'] } } }, required: ['tenant', 'events', 'wallets'] }))], { params: [{ name: 'tenant', in: 'path', required: true, schema: { type: 'string' } }], body: { type: 'object', properties: { events: { type: 'boolean' }, wallets: { type: 'boolean' } }, additionalProperties: false }, errors: [404] })
      },
      '/__harness/faults': {
        get: control('The fault plan, with per-fault seen/applied counters', [200, json('The plan', envelopeSchema({ type: 'object', properties: { seed: { type: 'integer' }, faults: { type: 'array', items: { type: 'object' } }, stats: { type: 'array', items: { type: 'object' } } } }))]),
        put: control('Set the fault plan (7.2)', [200, json('The plan as stored', envelopeSchema({ type: 'object', properties: { seed: { type: 'integer' }, faults: { type: 'array', items: { type: 'object' } } } }))], { body: ref('schemas', 'FaultPlan') }),
        delete: control('No faults', [200, json('Done', envelopeSchema({ type: 'object', additionalProperties: false }))])
      },
      '/__harness/events': {
        post: control('Publish an event to a tenant (7.4)', [201, json('The stored event, with its sequence', envelopeSchema({
          type: 'object',
          properties: { sequence: { type: 'integer' }, seq: { type: 'integer', description: 'The same as sequence.' }, ...EVENT.properties },
          required: ['sequence', ...EVENT.required]
        }))], { body: ref('schemas', 'HarnessEvent'), errors: [404, 503] })
      },
      '/__harness/record': {
        get: control('The request record as NDJSON, not enveloped (7.3, 7.4)', [200, {
          description: 'One JSON object per line, each with its seq',
          headers: {
            'X-Record-Last-Seq': { description: 'seq of the newest entry', schema: { type: 'string', pattern: '^\\d+$' } },
            'X-Record-Dropped': { description: 'entries dropped from the bounded record', schema: { type: 'string', pattern: '^\\d+$' } }
          },
          content: { 'application/x-ndjson': { schema: { type: 'string' } } }
        }], { params: queryParameters(RECORD_QUERY) })
      },
      '/__harness/record/stats': {
        get: control('Counters of the record', [200, json('The counters', envelopeSchema({ type: 'object', properties: { lastSeq: { type: 'integer' }, retained: { type: 'integer' }, dropped: { type: 'integer' }, capacity: { type: 'integer' }, spillError: { type: ['string', 'null'] } }, required: ['lastSeq', 'retained', 'dropped', 'capacity'] }))])
      },
      '/__harness/reset': {
        post: control('Back to the seeded start: tenants, keys, events, record and faults (7.4)', [200, json('Done', envelopeSchema({ type: 'object', additionalProperties: false }))])
      }
    },
    components: {
      schemas: {
        Meta: metaSchema,
        Error: errorSchema,
        Health: healthSchema,
        Wallet: walletSchema,
        Key: keySchema,
        KeyCreated: keyCreatedSchema,
        KeyValidation: keyValidationSchema,
        Event: EVENT,
        StreamGap: STREAM_GAP,
        WalletCreate: WALLET_CREATE,
        KeyCreate: KEY_CREATE,
        HarnessTenantCreate: HARNESS_TENANT_CREATE,
        HarnessKeyCreate: HARNESS_KEY_CREATE,
        HarnessEvent: HARNESS_EVENT,
        FaultPlan: FAULT_PLAN
      },
      responses: Object.fromEntries(errorStatuses.map((s) => [`Error${s}`, errorResponse(s)])),
      parameters: {
        'X-Request-Id': { name: 'X-Request-Id', in: 'header', required: false, description: 'Echoed when it is 1-128 chars of [A-Za-z0-9._:-] and not key-shaped; otherwise the mock makes one (1.2).', schema: { type: 'string' } },
        'X-API-Version': { name: 'X-API-Version', in: 'header', required: false, description: 'Only 1; anything else is 400 unsupported_api_version (1.2).', schema: { type: 'string', enum: ['1'] } },
        'X-Network': { name: 'X-Network', in: 'header', required: false, description: 'Default devnet (1.2).', schema: { type: 'string', enum: ['devnet', 'testnet', 'mainnet'] } },
        'X-Idempotency-Key': { name: 'X-Idempotency-Key', in: 'header', required: false, description: '1-255 printable ASCII chars; the first answer is stored for 24 h per tenant and key (6.1).', schema: { type: 'string', pattern: IDEMPOTENCY_KEY_RE.source } }
      },
      headers: {
        'X-Request-Id': { description: 'The request id, also meta.requestId (1.3).', schema: { type: 'string' } },
        'X-API-Version': { description: 'Always 1 (1.3).', schema: { type: 'string', enum: ['1'] } },
        'X-RateLimit-Limit': { description: 'Requests per window for the key (5.2).', schema: { type: 'string', pattern: '^\\d+$' } },
        'X-RateLimit-Remaining': { description: 'Requests left in the window (5.2).', schema: { type: 'string', pattern: '^\\d+$' } },
        'X-RateLimit-Reset': { description: 'Unix time in seconds when the window resets (5.2).', schema: { type: 'string', pattern: '^\\d+$' } },
        'Retry-After': { description: 'Whole seconds to wait, at least 1 (5.3).', schema: { type: 'string', pattern: '^[1-9]\\d*$' } },
        'Idempotent-Replayed': { description: 'true on a stored answer replayed for a retry (6.1).', schema: { type: 'string', enum: ['true'] } }
      },
      securitySchemes: {
        ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'tnz_<tenant>_<secret> (2.1)' },
        Bearer: { type: 'http', scheme: 'bearer', description: 'The same key as Authorization: Bearer; X-API-Key wins when both are sent (1.2).' },
        TenantId: { type: 'apiKey', in: 'header', name: 'X-Tenant-Id', description: 'The tenant id or slug of the key (2.2).' },
        AdminApiKey: { type: 'apiKey', in: 'header', name: 'X-Admin-API-Key', description: 'A key with admin:* (2.6).' },
        HarnessToken: { type: 'apiKey', in: 'header', name: 'X-Harness-Token', description: 'The mock\'s control token, when it was started with one (7.4).' }
      }
    }
  }
}
