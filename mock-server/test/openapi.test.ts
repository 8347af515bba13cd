// The OpenAPI 3.1 description (GET /openapi.json): valid by a maintained OpenAPI validator, served as
// built, covering every route the mock registers, built from the same request schemas validate.ts
// checks, and able to catch an answer that does not conform (the check startMock runs on every answer).
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildOpenApi } from '../src/openapi.ts'
import { KEY_CREATE, WALLET_CREATE } from '../src/schemas.ts'
import { walletCreateBody } from '../src/validate.ts'
import { isApiError } from '../src/errors.ts'
import { control, QUIET, startMock, type TestMock } from './helper.ts'
import { checkAnswer } from './helpers/openapi.ts'

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

describe('the OpenAPI description', () => {
  let m: TestMock
  beforeAll(async () => { m = await startMock(QUIET, {}) })
  afterAll(async () => { await m.close() })

  it('is a valid OpenAPI 3.1 document, and the validator refuses a broken copy', async () => {
    const validator = new Validator()
    const doc = buildOpenApi()
    expect(await validator.validate(doc)).toEqual({ valid: true })
    expect(validator.version).toBe('3.1')
    const broken = structuredClone(doc) as Json
    broken.paths['/api/wallet/list'].get.responses['200'] = { content: {} } // a response without its description
    expect((await validator.validate(broken)).valid).toBe(false)
  })

  it('is served at GET /openapi.json without a key, as built', async () => {
    const res = await fetch(`${m.url}/openapi.json`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.headers.get('x-ratelimit-limit')).toBeNull()
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(buildOpenApi())))
  })

  it('documents every route the mock registers, and nothing else', () => {
    const doc = buildOpenApi() as Json
    const documented = Object.entries(doc.paths as Json).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`)).sort()
    // printRoutes draws a tree, 4 columns per level: rebuild each full path from its parents.
    const stack: string[] = []
    const registered: string[] = []
    for (const line of m.app.printRoutes({ commonPrefix: false }).split('\n')) {
      const x = /^([│ ]*)[├└]── (\/\S*) \(([A-Z, ]+)\)$/.exec(line)
      if (x === null) continue
      const depth = x[1]!.length / 4
      stack.length = depth
      stack.push(x[2]!)
      for (const method of x[3]!.split(', ')) if (method !== 'HEAD') registered.push(`${method} ${stack.join('')}`)
    }
    registered.sort()
    expect(registered).toEqual(documented)
  })

  it('accepts exactly the wallet bodies the mock accepts: validate.ts and Ajv read the same schema (3.3)', () => {
    const ajvCheck = new Ajv2020({ strict: false }).compile(WALLET_CREATE)
    const field = fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom('mpc', 'multi-sig', 'single', 'ethereum', 'solana', 'bitcoin', '', 'a\u0000b', 'x'.repeat(64), '\u{1F600}'.repeat(64)), fc.integer(), fc.constant(null))
    const body = fc.oneof(
      fc.record({ name: field, type: field, chain: field }, { requiredKeys: [] }),
      fc.record({ name: field, type: field, chain: field, extra: field }, { requiredKeys: ['name', 'type', 'chain'] }),
      fc.constantFrom({ name: 'Ops', type: 'mpc', chain: 'ethereum' }, { name: 'Ops', type: 'single', chain: 'bitcoin' })
    )
    let accepted = 0
    fc.assert(fc.property(body, (b) => {
      let ours: boolean
      try { walletCreateBody(b); ours = true } catch (err) { if (!isApiError(err)) throw err; ours = false }
      if (ours) accepted++
      expect(ours).toBe(ajvCheck(b))
    }), { numRuns: 2000, seed: 12 })
    expect(accepted).toBeGreaterThan(0)
  })

  it('documents exactly the fields POST /api/keys accepts (2.6): each schema field is taken, anything else is unknown', async () => {
    const admin = await control(m, 'POST', '/__harness/keys', { tenant: 'acme', scopes: ['admin:*'] })
    const post = (body: Record<string, unknown>) => fetch(`${m.url}/api/keys`, { method: 'POST', headers: { 'x-admin-api-key': admin.body.data.key, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const valid: Record<string, unknown> = { tenantId: m.keys.acme.tenantId, name: 'rotated', scopes: ['wallet:read'], rateLimit: 5, expiresAt: new Date(Date.now() + 3_600_000).toISOString() }
    expect(Object.keys(valid).sort()).toEqual(Object.keys(KEY_CREATE.properties).sort())
    const res = await post(valid)
    expect(res.status, await res.clone().text()).toBe(201)
    const refused = await post({ ...valid, owner: 'x' })
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as Json).error.details).toEqual([{ field: 'owner', message: 'unknown field' }])
  })

  it('catches answers that do not conform: an undocumented status, a body off its schema, a bad event frame', () => {
    const meta = { requestId: 'req_1', timestamp: '2026-06-01T00:00:00.000Z' }
    expect(checkAnswer('GET', '/api/wallet/list', 200, 'application/json', JSON.stringify({ data: [], meta }))).toEqual([])
    expect(checkAnswer('GET', '/api/wallet/list', 418, 'application/json', '{}')[0]).toMatch(/status 418 is not documented/)
    expect(checkAnswer('GET', '/api/wallet/list', 200, 'application/json', JSON.stringify({ data: [] }))[0]).toMatch(/meta/)
    expect(checkAnswer('GET', '/api/wallet/list', 200, 'text/plain', 'ok')[0]).toMatch(/content-type text\/plain/)
    expect(checkAnswer('POST', '/api/wallet/create', 400, 'application/json', JSON.stringify({ error: { code: 'validation_error', message: 'x', details: [{ field: 'name' }] }, meta }))[0]).toMatch(/message/)
    const event = { id: 'evt_3', type: 'wallet.created', tenantId: 't', timestamp: meta.timestamp, data: {} }
    const stream = (e: unknown, name = 'wallet.created') => `retry: 1000\n\nid: 3\nevent: ${name}\ndata: ${JSON.stringify(e)}\n\n`
    expect(checkAnswer('GET', '/api/events/stream', 200, 'text/event-stream', stream(event))).toEqual([])
    expect(checkAnswer('GET', '/api/events/stream', 200, 'text/event-stream', stream({ ...event, id: 3 }))[0]).toMatch(/event wallet.created/)
    expect(checkAnswer('GET', '/api/events/stream', 200, 'text/event-stream', stream({ from: 1, to: 2 }, 'stream.gap'))).toEqual([])
    expect(checkAnswer('GET', '/api/events/stream', 200, 'text/event-stream', stream({ from: 1 }, 'stream.gap'))[0]).toMatch(/stream.gap/)
    expect(checkAnswer('GET', '/no/such/route', 404, 'application/json', JSON.stringify({ error: { code: 'not_found', message: 'x', details: [] }, meta }))).toEqual([])
  })
})
