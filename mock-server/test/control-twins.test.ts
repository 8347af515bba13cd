// The control API's two doors: POST /__harness/tenants and /__harness/keys over HTTP (routes/control.ts)
// and createTenant/createKey of the msw handlers (msw/control.ts). Both go through one check
// (control-input.ts), so each body below gets the same outcome from both: created, or refused with the
// same code and the same details. They once disagreed: the msw helper took `expiresAt` on a tenant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenzroHandlers } from '../src/msw/index.ts'
import { isApiError } from '../src/errors.ts'
import { control, QUIET, startMock, type TestMock } from './helper.ts'

type Outcome = { created: true } | { code: string, details: unknown }

const FUTURE = '2099-01-01T00:00:00.000Z'
const TENANT_BODIES: Array<[string, Record<string, unknown>]> = [
  ['empty', {}],
  ['every field', { slug: 'twinsall', quota: 50, name: 'ops', scopes: ['wallet:read'], rateLimit: 10, network: 'testnet' }],
  ['expiresAt (not a tenant field, API 7.4)', { expiresAt: FUTURE }],
  ['an unknown field', { colour: 'blue' }],
  ['a bad slug', { slug: 'Bad Slug!' }],
  ['a slug that exists', { slug: 'acme' }],
  ['quota 0', { quota: 0 }],
  ['quota as a string', { quota: '5' }],
  ['a bad network', { network: 'moonnet' }],
  ['empty scopes', { scopes: [] }],
  ['a key in the name', { name: 'tnz_acme_' + 'A'.repeat(43) }]
]
const KEY_BODIES: Array<[string, Record<string, unknown>]> = [
  ['empty', {}],
  ['every field', { name: 'ci', scopes: ['events:read'], rateLimit: 5, expiresAt: FUTURE, network: 'devnet' }],
  ['expiresAt in the past', { expiresAt: '2000-01-01T00:00:00.000Z' }],
  ['expiresAt not a date', { expiresAt: 'tomorrow' }],
  ['rateLimit 0', { rateLimit: 0 }],
  ['an unknown field', { quota: 3 }],
  ['an unknown scope', { scopes: ['root'] }]
]

function outcomeOf (err: unknown): Outcome {
  if (!isApiError(err)) throw err
  return { code: err.code, details: err.details }
}

describe('the HTTP control routes and the msw helpers check tenant and key bodies alike (API 7.4)', () => {
  let m: TestMock
  const handlers = createTenzroHandlers()
  beforeAll(async () => { m = await startMock(QUIET) })
  afterAll(async () => { await m.close(); await handlers.close() })

  async function overHttp (path: string, body: unknown): Promise<Outcome> {
    const r = await control(m, 'POST', path, body)
    if (r.status === 201) return { created: true }
    return { code: r.body.error.code, details: r.body.error.details }
  }

  function inProcess (make: () => unknown): Outcome {
    try { make(); return { created: true } } catch (err) { return outcomeOf(err) }
  }

  for (const [name, body] of TENANT_BODIES) {
    it(`a tenant with ${name}`, async () => {
      const http = await overHttp('/__harness/tenants', body)
      // A created slug now exists in the HTTP mock only; the msw twin must still see it free.
      expect(inProcess(() => handlers.createTenant(body))).toEqual(http)
    })
  }

  for (const [name, body] of KEY_BODIES) {
    it(`a key with ${name}`, async () => {
      const http = await overHttp('/__harness/keys', { tenant: 'acme', ...body })
      expect(inProcess(() => handlers.createKey('acme', body))).toEqual(http)
    })
  }

  it('a key for a tenant that does not exist: not_found from both', async () => {
    const http = await overHttp('/__harness/keys', { tenant: 'nosuch' })
    expect(http).toMatchObject({ code: 'not_found' })
    expect(inProcess(() => handlers.createKey('nosuch'))).toEqual(http)
  })

  it('a tenant with expiresAt is refused, not silently taken', async () => {
    expect(await overHttp('/__harness/tenants', { expiresAt: FUTURE })).toMatchObject({ code: 'validation_error' })
  })
})
