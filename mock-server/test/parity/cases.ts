// The contract cases, written once against a Target (targets.ts): each asserts the contract itself and
// returns what it saw, normalised, so parity.test.ts can also hold the two mocks' answers equal.
import { expect } from 'vitest'
import type { MockConfigInput } from '../../src/config.ts'
import { fakeKey } from '../helper.ts'
import { countEvents, idsOf, normaliseHeaders, observe, readStream, streamReader, type Observation, type StreamRead } from './observe.ts'
import { T0, type Target, type TargetKey } from './targets.ts'

export interface ParityCase {
  name: string
  config?: MockConfigInput
  run (t: Target): Promise<Observation[]>
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

const WALLET = { name: 'Parity wallet', type: 'mpc', chain: 'solana' }

function headersOf (k: { key: string, tenantId: string }, extra: Record<string, string> = {}): Record<string, string> {
  return { 'x-api-key': k.key, 'x-tenant-id': k.tenantId, ...extra }
}

function get (t: Target, path: string, headers: Record<string, string>): Promise<Response> {
  return t.fetch(t.baseUrl + path, { headers })
}

function post (t: Target, path: string, headers: Record<string, string>, body: unknown): Promise<Response> {
  return t.fetch(t.baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
}

/** The request entries of the record (7.3) for API routes, without what differs by transport (ip, timing). */
async function recordView (t: Target): Promise<Observation> {
  const entries = (await t.record()).filter((e) => e.type === 'request' && !String(e.path).startsWith('/__harness'))
  const body = entries.map((e) => ({
    method: e.method,
    route: e.route,
    path: e.path,
    status: e.status,
    code: e.code,
    tenant: e.tenant,
    keyId: e.keyId,
    auth: e.auth,
    rateLimit: e.rateLimit,
    idempotencyKey: e.idempotencyKey,
    idempotency: e.idempotency,
    faults: e.faults,
    lostResponse: e.lostResponse,
    retryAfterS: e.retryAfterS
  }))
  return { label: 'the request record (7.3)', status: 0, headers: {}, body }
}

async function openStream (t: Target, k: TargetKey, query: string, extra: Record<string, string> = {}) {
  const ac = new AbortController()
  const res = await t.fetch(`${t.baseUrl}/api/events/stream${query}`, { headers: headersOf(k, { accept: 'text/event-stream', ...extra }), signal: ac.signal })
  return { res, ac }
}

/** Open a stream, read until `events` complete events arrived (or it ends), and observe head and bytes. */
async function streamObservation (label: string, t: Target, k: TargetKey, query: string, events: number, extra: Record<string, string> = {}): Promise<Observation> {
  const { res, ac } = await openStream(t, k, query, extra)
  expect(res.status, label).toBe(200)
  const read = await readStream(res, ac, (text) => countEvents(text) >= events)
  return { label, status: res.status, headers: streamHeaders(res), body: read }
}

function streamHeaders (res: Response): Record<string, string> {
  return normaliseHeaders(res.headers)
}

/** Wait until the mock has recorded `n` closed streams: a client's abort reaches the server a little later. */
async function streamsClosed (t: Target, n: number): Promise<void> {
  const deadline = Date.now() + 5000
  for (;;) {
    const closed = (await t.record()).filter((e) => e.type === 'stream' && e.phase === 'close').length
    if (closed >= n) return
    if (Date.now() > deadline) throw new Error(`the mock recorded ${closed} closed streams, expected ${n}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function errorCode (o: Observation): string {
  return (o.body as Json).error.code
}

export const CASES: ParityCase[] = [
  {
    name: 'answers each authentication failure with its own 401 or 403 code, and counts none of them against the key (contract 2, 5.1)',
    async run (t) {
      const ok = await t.createKey('acme')
      const eventsOnly = await t.createKey('acme', { scopes: ['events:read'] })
      const revoked = await t.createKey('acme')
      await t.revokeKey(revoked.id)
      const expiring = await t.createKey('acme', { expiresAt: new Date(t.clock.now() + 1000).toISOString() })
      t.clock.advance(2000)
      const refusals: Array<[string, number, string, Record<string, string>]> = [
        ['no key', 401, 'missing_api_key', { 'x-tenant-id': ok.tenantId }],
        ['a malformed key', 401, 'invalid_api_key', { 'x-api-key': 'not-a-key', 'x-tenant-id': ok.tenantId }],
        ['an unknown key', 401, 'invalid_api_key', headersOf({ key: fakeKey('acme'), tenantId: ok.tenantId })],
        ['a revoked key', 401, 'revoked_api_key', headersOf(revoked)],
        ['an expired key', 401, 'expired_api_key', headersOf(expiring)],
        ['no tenant', 401, 'missing_tenant_id', { 'x-api-key': ok.key }],
        ['another tenant', 403, 'tenant_mismatch', { 'x-api-key': ok.key, 'x-tenant-id': 'globex' }],
        ['a key without wallet:read', 403, 'insufficient_scope', headersOf(eventsOnly)]
      ]
      const out: Observation[] = []
      for (const [what, status, code, headers] of refusals) {
        const o = await observe(`GET /api/wallet/list with ${what}`, await get(t, '/api/wallet/list', headers))
        expect(o.status, what).toBe(status)
        expect(errorCode(o), what).toBe(code)
        expect(o.headers['x-ratelimit-limit'], what).toBeUndefined()
        out.push(o)
      }
      const admin = await observe('POST /api/keys with a key without admin:*', await post(t, '/api/keys', { 'x-admin-api-key': ok.key }, { tenantId: 'acme' }))
      expect(admin.status).toBe(403)
      expect((admin.body as Json).error.details).toEqual([{ field: 'scope', message: expect.any(String) }])
      const version = await observe('an unsupported X-API-Version', await get(t, '/api/wallet/list', headersOf(ok, { 'x-api-version': '2' })))
      expect(errorCode(version)).toBe('unsupported_api_version')
      const unknown = await observe('an unknown route', await get(t, '/api/wallet/nope', headersOf(ok)))
      expect(unknown.status).toBe(404)
      // Authorization: Bearer is accepted (1.2), and none of the refusals above was counted (5.1).
      const bearer = await observe('Authorization: Bearer', await get(t, '/api/wallet/list', { authorization: `Bearer ${ok.key}`, 'x-tenant-id': 'acme' }))
      expect(bearer.status).toBe(200)
      expect(bearer.headers['x-ratelimit-remaining']).toBe('99')
      return [...out, admin, version, unknown, bearer, await recordView(t)]
    }
  },

  {
    name: 'walks every wallet exactly once by cursor and refuses forged, tampered and foreign cursors on field cursor (contract 3.2, 3.4)',
    async run (t) {
      const acme = await t.createKey('acme')
      const globex = await t.createKey('globex')
      const out: Observation[] = []
      const ids: string[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const o = await observe(`page ${pages + 1}`, await get(t, `/api/wallet/list?limit=7${cursor === null ? '' : `&cursor=${cursor}`}`, headersOf(acme)))
        expect(o.status).toBe(200)
        const body = o.body as Json
        ids.push(...body.data.map((w: Json) => w.id))
        expect(body.meta.hasMore).toBe(body.meta.cursor !== null)
        cursor = body.meta.cursor
        out.push(o)
        pages++
      } while (cursor !== null && pages < 10)
      expect(pages).toBe(4)
      expect(ids).toHaveLength(25)
      expect(new Set(ids).size).toBe(25)
      const chain = await observe('chain=bitcoin', await get(t, '/api/wallet/list?limit=100&chain=bitcoin', headersOf(acme)))
      expect((chain.body as Json).data.every((w: Json) => w.chain === 'bitcoin')).toBe(true)
      const first = (out[0]!.body as Json).meta.cursor as string
      const decoded = JSON.parse(Buffer.from(first, 'base64url').toString('utf8')) as { b: number, m: string }
      const refused: Array<[string, Record<string, string>, string]> = [
        ['a forged cursor', headersOf(acme), Buffer.from(JSON.stringify({ b: 5 })).toString('base64url')],
        ['a tampered cursor', headersOf(acme), Buffer.from(JSON.stringify({ ...decoded, b: decoded.b + 1 })).toString('base64url')],
        ['another tenant\'s cursor', headersOf(globex), first]
      ]
      for (const [what, headers, c] of refused) {
        const o = await observe(what, await get(t, `/api/wallet/list?cursor=${encodeURIComponent(c)}`, headers))
        expect(o.status, what).toBe(400)
        expect((o.body as Json).error.details.map((d: Json) => d.field), what).toEqual(['cursor'])
        out.push(o)
      }
      const limit = await observe('limit=0', await get(t, '/api/wallet/list?limit=0', headersOf(acme)))
      expect((limit.body as Json).error.details.map((d: Json) => d.field)).toEqual(['limit'])
      return [...out, chain, limit]
    }
  },

  {
    name: 'replays a POST with the same idempotency key and body, refuses another body with 422, and survives a lost response (contract 6.1, 6.2, 7.2)',
    async run (t) {
      const k = await t.createKey('acme')
      const first = await post(t, '/api/wallet/create', headersOf(k, { 'x-idempotency-key': 'parity-1' }), WALLET)
      const firstText = await first.clone().text()
      const o1 = await observe('first POST', first)
      expect(o1.status).toBe(201)
      expect(o1.headers['idempotent-replayed']).toBeUndefined()
      const again = await post(t, '/api/wallet/create', headersOf(k, { 'x-idempotency-key': 'parity-1' }), { chain: WALLET.chain, type: WALLET.type, name: WALLET.name })
      expect(await again.clone().text()).toBe(firstText)
      const o2 = await observe('the same key and body again', again)
      expect(o2.headers['idempotent-replayed']).toBe('true')
      const o3 = await observe('the same key, another body', await post(t, '/api/wallet/create', headersOf(k, { 'x-idempotency-key': 'parity-1' }), { ...WALLET, name: 'Other' }))
      expect(o3.status).toBe(422)
      expect(errorCode(o3)).toBe('idempotency_key_reused')
      const o4 = await observe('no key', await post(t, '/api/wallet/create', headersOf(k), WALLET))
      expect(o4.status).toBe(201)
      const o5 = await observe('a 256-char key', await post(t, '/api/wallet/create', headersOf(k, { 'x-idempotency-key': 'k'.repeat(256) }), WALLET))
      expect((o5.body as Json).error.details.map((d: Json) => d.field)).toEqual(['X-Idempotency-Key'])

      // 7.2 lost-response: the wallet is created, the client sees a network error, and its retry with
      // the same key gets the stored answer.
      await t.setFaults({ faults: [{ id: 'lose-one', type: 'lost-response', times: 1, scope: { route: 'POST /api/wallet/create' } }] })
      await expect(post(t, '/api/wallet/create', headersOf(k, { 'x-idempotency-key': 'parity-lost' }), WALLET)).rejects.toThrow(TypeError)
      const retry = await observe('the retry after a lost response', await post(t, '/api/wallet/create', headersOf(k, { 'x-idempotency-key': 'parity-lost' }), WALLET))
      expect(retry.status).toBe(201)
      expect(retry.headers['idempotent-replayed']).toBe('true')
      const list = await observe('the wallets afterwards', await get(t, '/api/wallet/list?limit=100', headersOf(k)))
      expect((list.body as Json).data.filter((w: Json) => w.name === WALLET.name)).toHaveLength(3)
      const record = await recordView(t)
      expect((record.body as Json[]).map((e) => e.idempotency)).toEqual(['stored', 'replayed', 'mismatch', 'missing', null, 'stored', 'replayed', null])
      expect((record.body as Json[])[5].lostResponse).toBe(true)
      return [o1, o2, o3, o4, o5, retry, list, record]
    }
  },

  {
    name: 'sends the same X-RateLimit headers and a 429 with an honest Retry-After once a key\'s window is spent (contract 5.2, 5.3)',
    async run (t) {
      const k = await t.createKey('acme', { rateLimit: 3 })
      t.clock.set(T0 + 12_345)
      const out: Observation[] = []
      for (let i = 0; i < 3; i++) {
        const o = await observe(`request ${i + 1}`, await get(t, i === 1 ? '/api/wallet/list?limit=abc' : '/api/wallet/list?limit=1', headersOf(k)))
        expect(o.headers['x-ratelimit-limit']).toBe('3')
        expect(o.headers['x-ratelimit-remaining']).toBe(String(2 - i))
        expect(o.headers['x-ratelimit-reset']).toBe(String((T0 + 60_000) / 1000))
        out.push(o)
      }
      const refused = await observe('request 4', await get(t, '/api/wallet/list?limit=1', headersOf(k)))
      expect(refused.status).toBe(429)
      expect(errorCode(refused)).toBe('rate_limited')
      expect(refused.headers['retry-after']).toBe('48')
      expect((refused.body as Json).error.details).toEqual([{ field: 'retryAfter', message: '48' }])
      t.clock.advance(48_000)
      const again = await observe('after Retry-After', await get(t, '/api/wallet/list?limit=1', headersOf(k)))
      expect(again.status).toBe(200)
      expect(again.headers['x-ratelimit-remaining']).toBe('2')
      await t.setFaults({ faults: [{ type: 'rate-limit-burst', retryAfterS: 9, times: 1 }] })
      const burst = await observe('a forced 429 burst', await get(t, '/api/wallet/list?limit=1', headersOf(k)))
      expect(burst.status).toBe(429)
      expect(burst.headers['retry-after']).toBe('9')
      return [...out, refused, again, burst, await recordView(t)]
    }
  },

  {
    name: 'replays retained events after last_event_id or Last-Event-ID with identical ids and frames, then live ones (contract 4.2-4.4)',
    async run (t) {
      const k = await t.createKey('acme')
      const subjects = ['wallet.created', 'ledger.entry.created', 'token.transfer.pending', 'wallet.updated', 'token.transfer.confirmed']
      for (let i = 0; i < subjects.length; i++) {
        t.clock.advance(1000)
        expect(await t.publish('acme', subjects[i]!, { n: i + 1 })).toBe(i + 1)
      }
      await t.publish('globex', 'wallet.created', { n: 'other tenant' })
      const byQuery = await streamObservation('last_event_id=2', t, k, '?last_event_id=2', 3)
      const text = (byQuery.body as StreamRead).text
      expect(text.startsWith('retry: 1000\n\n')).toBe(true)
      expect(idsOf(text)).toEqual([3, 4, 5])
      expect(text).not.toContain('other tenant')

      // The header wins over the query (4.2); the filter leaves gaps in the ids; then a live event.
      const { res, ac } = await openStream(t, k, '?last_event_id=4&subjects=wallet.*', { 'last-event-id': '1' })
      const reader = streamReader(res, ac)
      try {
        await reader.until((x) => idsOf(x).length >= 1)
        t.clock.advance(1000)
        expect(await t.publish('acme', 'wallet.created', { n: 'live' })).toBe(6)
        await reader.until((x) => idsOf(x).length >= 2)
      } finally {
        reader.close()
      }
      expect(idsOf(reader.state.text)).toEqual([4, 6])
      const byHeader: Observation = { label: 'Last-Event-ID: 1 with subjects=wallet.*, then live', status: res.status, headers: streamHeaders(res), body: { ...reader.state } }
      await streamsClosed(t, 2)
      return [byQuery, byHeader, await recordView(t)]
    }
  },

  {
    name: 'sends stream.gap for an id older than the retained window, then the oldest retained events (contract 4.4)',
    config: { events: { capacity: 10 } },
    async run (t) {
      const k = await t.createKey('acme')
      for (let i = 1; i <= 15; i++) await t.publish('acme', 'ledger.entry.created', { n: i })
      const o = await streamObservation('last_event_id=1 with events 6-15 retained', t, k, '?last_event_id=1', 11)
      const text = (o.body as StreamRead).text
      expect(text).toContain('id: 5\nevent: stream.gap\ndata: {"from":2,"to":5}\n\n')
      expect(idsOf(text)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
      return [o]
    }
  },

  {
    name: 'injects the same SSE faults: a drop after N events, duplicates on resume, a refused connection, and the per-key stream cap (contract 5.5, 7.2)',
    config: { rateLimit: { maxStreamsPerKey: 1 } },
    async run (t) {
      const k = await t.createKey('acme')
      for (let i = 1; i <= 6; i++) await t.publish('acme', 'token.transfer.pending', { n: i })
      await t.setFaults({
        faults: [
          { id: 'drop', type: 'sse-drop', afterEvents: 2, times: 1 },
          { id: 'dup', type: 'sse-duplicate', count: 2, after: 1, times: 1 },
          { id: 'reject', type: 'sse-reject', status: 503, retryAfterS: 4, after: 2, times: 1 }
        ]
      })
      // Stream 1: cut after two events, mid-connection.
      const drop = await streamObservation('sse-drop after 2 events', t, k, '?last_event_id=0', 99)
      expect((drop.body as StreamRead).ending).toBe('cut')
      expect(idsOf((drop.body as StreamRead).text)).toEqual([1, 2])
      await streamsClosed(t, 1)
      // Stream 2: resuming after 4 re-sends 3 and 4 first (at least once, 4.6).
      const dup = await streamObservation('sse-duplicate 2 on resume after 4', t, k, '?last_event_id=4', 4)
      expect(idsOf((dup.body as StreamRead).text)).toEqual([3, 4, 5, 6])
      await streamsClosed(t, 2)
      // Stream 3: refused with 503 and Retry-After.
      const reject = await observe('sse-reject 503', await get(t, '/api/events/stream', headersOf(k)))
      expect(reject.status).toBe(503)
      expect(reject.headers['retry-after']).toBe('4')
      // The cap of one open stream per key (5.5).
      const held = await openStream(t, k, '')
      const reader = streamReader(held.res, held.ac)
      await reader.until((x) => x.includes('retry:'))
      const capped = await observe('a second concurrent stream', await get(t, '/api/events/stream', headersOf(k)))
      reader.close()
      expect(capped.status).toBe(429)
      expect(errorCode(capped)).toBe('too_many_streams')
      await streamsClosed(t, 3)
      return [drop, dup, reject, capped, await recordView(t)]
    }
  },

  {
    name: 'answers injected REST errors the same way: 503 with Retry-After, 502 internal_error, and faults scoped to a route (contract 7.2)',
    async run (t) {
      const k = await t.createKey('acme')
      await t.setFaults({
        faults: [
          { id: 'unavailable', type: 'error', status: 503, retryAfterS: 7, times: 1, scope: { route: 'GET /api/wallet/list' } },
          { id: 'bad-gateway', type: 'error', status: 502, times: 1, scope: { route: '/api/wallet/create' } }
        ]
      })
      const a = await observe('an injected 503', await get(t, '/api/wallet/list?limit=1', headersOf(k)))
      expect(a.status).toBe(503)
      expect(a.headers['retry-after']).toBe('7')
      const b = await observe('an injected 502', await post(t, '/api/wallet/create', headersOf(k, { 'x-idempotency-key': 'after-502' }), WALLET))
      expect(b.status).toBe(502)
      expect(errorCode(b)).toBe('internal_error')
      // A 5xx is not stored: the retry with the same key runs afresh (6.1).
      const c = await observe('the retry after a 502', await post(t, '/api/wallet/create', headersOf(k, { 'x-idempotency-key': 'after-502' }), WALLET))
      expect(c.status).toBe(201)
      expect(c.headers['idempotent-replayed']).toBeUndefined()
      return [a, b, c, await recordView(t)]
    }
  }
,

  {
    name: 'echoes a valid X-Request-Id, replaces an invalid or key-shaped one, and checks X-API-Version and X-Network on every route (contract 1.2, 1.3, 1.7)',
    async run (t) {
      const k = await t.createKey('acme')
      const echoed = await observe('a valid X-Request-Id', await get(t, '/api/wallet/list?limit=1', headersOf(k, { 'x-request-id': 'client.id:42' })))
      expect(echoed.headers['x-request-id']).toBe('client.id:42')
      expect((echoed.body as Json).meta.requestId).toBe('client.id:42')
      const keyish = await observe('a key-shaped X-Request-Id', await get(t, '/api/wallet/list?limit=1', headersOf(k, { 'x-request-id': 'tnz_acme_x' })))
      expect(keyish.headers['x-request-id']).toBe('<generated request id>')
      const network = await observe('X-Network: moonnet', await get(t, '/api/wallet/list?limit=1', headersOf(k, { 'x-network': 'moonnet' })))
      expect((network.body as Json).error.details).toEqual([{ field: 'X-Network', message: 'must be devnet, testnet or mainnet' }])
      const health = await observe('GET /health without a key', await get(t, '/health', {}))
      expect(health.status).toBe(200)
      expect(health.headers['x-ratelimit-limit']).toBeUndefined()
      const eventsHealth = await observe('GET /api/events/health without a key', await get(t, '/api/events/health', {}))
      const versionOn404 = await observe('X-API-Version: 2 on an unknown route', await get(t, '/nowhere', { 'x-api-version': '2' }))
      expect(errorCode(versionOn404)).toBe('unsupported_api_version')
      const slash = await observe('a trailing slash', await get(t, '/api/wallet/list/', headersOf(k)))
      expect(slash.status).toBe(404)
      const head = await observe('HEAD /api/wallet/list', await t.fetch(`${t.baseUrl}/api/wallet/list?limit=2`, { method: 'HEAD', headers: headersOf(k) }))
      expect(head.status).toBe(200)
      expect(head.headers['x-ratelimit-remaining']).toBe('97')
      const put = await observe('PUT on a POST route', await t.fetch(`${t.baseUrl}/api/wallet/create`, { method: 'PUT', headers: headersOf(k) }))
      expect(put.status).toBe(405)
      expect(put.headers.allow).toBe('POST')
      return [echoed, keyish, network, health, eventsHealth, versionOn404, slash, head, put, await recordView(t)]
    }
  },

  {
    name: 'refuses bad bodies the same way: not JSON, empty, another media type, unknown fields, bad values and too large (contract 1.6, 3.3)',
    config: { bodyLimitBytes: 1024 },
    async run (t) {
      const k = await t.createKey('acme')
      const send = (label: string, body: string | undefined, contentType: string | undefined) => {
        const headers = headersOf(k)
        if (contentType !== undefined) headers['content-type'] = contentType
        return t.fetch(t.baseUrl + '/api/wallet/create', { method: 'POST', headers, ...(body === undefined ? {} : { body }) }).then((r) => observe(label, r))
      }
      const out = [
        await send('broken JSON', '{"name":', 'application/json'),
        await send('an empty JSON body', '', 'application/json'),
        await send('no body at all', undefined, undefined),
        await send('text/plain', 'name=x', 'text/plain'),
        await send('application/xml', '<wallet/>', 'application/xml'),
        await send('a __proto__ key', '{"__proto__":{"x":1},"name":"a","type":"mpc","chain":"solana"}', 'application/json'),
        await send('unknown fields and bad values', JSON.stringify({ name: '', type: 'paper', chain: 'dogecoin', colour: 'red' }), 'application/json'),
        await send('a JSON array', '[1,2]', 'application/json; charset=utf-8'),
        await send('a body over the limit', JSON.stringify({ ...WALLET, name: 'x'.repeat(2000) }), 'application/json')
      ]
      for (const o of out) expect(o.status, o.label).toBeGreaterThanOrEqual(400)
      expect(out.at(-1)!.status).toBe(413)
      expect((out[6]!.body as Json).error.details.map((d: Json) => d.field)).toEqual(['colour', 'name', 'type', 'chain'])
      return [...out, await recordView(t)]
    }
  },

  {
    name: 'administers keys under /api/keys and /api/apikeys with X-Admin-API-Key, one tenant only (contract 2.6, 3.4)',
    async run (t) {
      const admin = await t.createKey('acme', { scopes: ['admin:*'] })
      const a = { 'x-admin-api-key': admin.key }
      const created = await observe('POST /api/apikeys', await post(t, '/api/apikeys', a, { tenantId: 'acme', name: 'ci', scopes: ['wallet:read'], rateLimit: 5 }))
      expect(created.status).toBe(201)
      const data = (created.body as Json).data
      expect(data.key).toMatch(/^tnz_acme_[A-Za-z0-9_-]{43}$/)
      expect(data.prefix).toBe(data.key.slice(0, 12))
      // The new key works at once, and validate answers without the data wrapper (2.6).
      const validate = await observe('GET /api/keys/validate with the new key', await get(t, '/api/keys/validate', { 'x-api-key': data.key }))
      expect(validate.body).toMatchObject({ valid: true, scopes: ['wallet:read'], rateLimit: { limit: 5, remaining: 4 } })
      const list = await observe('GET /api/keys/tenant/acme', await get(t, '/api/keys/tenant/acme', a))
      expect(JSON.stringify(list.body)).not.toContain(data.key)
      const foreign = await observe('GET /api/keys/tenant/globex', await get(t, '/api/keys/tenant/globex', a))
      expect(errorCode(foreign)).toBe('tenant_mismatch')
      const revoked = await observe('DELETE /api/keys/:id', await t.fetch(`${t.baseUrl}/api/keys/${data.id}`, { method: 'DELETE', headers: a }))
      expect((revoked.body as Json).data.revokedAt).not.toBeNull()
      const after = await observe('the revoked key', await get(t, '/api/keys/validate', { 'x-api-key': data.key }))
      expect(errorCode(after)).toBe('revoked_api_key')
      // Secrets, and so every key's first 12 chars, are random per run: compare their shape only.
      const shaped = (o: Observation): Observation => JSON.parse(JSON.stringify(o)
        .replaceAll(data.key, '<key>')
        .replace(/"prefix":"(tnz_[a-z0-9]+_)[A-Za-z0-9_-]*"/g, '"prefix":"$1<random>"'))
      return [created, validate, list, foreign, revoked, after].map(shaped)
    }
  }
]
