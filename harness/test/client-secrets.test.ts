// Secrets never leave the client (house style principle 6): with a canary key, nothing the client
// logs, no span it records and no error it throws contains the key, raw, URL-encoded or base64, on
// the happy path and on every error path (401, 429, 5xx, network errors, bad JSON, a hostile server
// that echoes the key back). A control test proves the search finds a leak when there is one.
import { createServer, type Server } from 'node:http'
import { inspect } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { createTenzroClient, type FetchLike } from '../src/client/index.ts'
import { fakeKey } from '../../mock-server/test/helper.ts'
import { createKey, memoryLogger, memoryTracer, publish, setFaults, startClientMock, waitUntil, type TestMock } from './helpers/mock.ts'

let mock: TestMock | undefined
let server: Server | undefined
afterEach(async () => {
  await mock?.close()
  mock = undefined
  await new Promise<void>((resolve) => { if (server === undefined) resolve(); else server.close(() => resolve()) })
  server = undefined
})

/** Every form a key could take in text: raw, URL-encoded, base64 and base64url, of the key and of its secret part. */
function forms (key: string): string[] {
  // tnz_<tenant>_<secret> (contract 2.1): the tenant has no '_', the secret (base64url) may.
  const secret = /^tnz_[a-z0-9]+_(.+)$/.exec(key)![1]!
  const out = new Set<string>()
  for (const s of [key, secret]) {
    out.add(s)
    out.add(encodeURIComponent(s))
    out.add(Buffer.from(s).toString('base64'))
    out.add(Buffer.from(s).toString('base64url'))
    // base64 of text that merely contains the key at another offset: the middle of the encoding still carries it.
    out.add(Buffer.from(`x${s}`).toString('base64').slice(4, -4))
    out.add(Buffer.from(`xy${s}`).toString('base64').slice(4, -4))
  }
  return [...out]
}

function findLeaks (texts: string[], key: string): string[] {
  const f = forms(key)
  const hits: string[] = []
  for (const t of texts) for (const x of f) if (t.includes(x)) hits.push(`${JSON.stringify(x)} in ${t.slice(0, 200)}`)
  return hits
}

/** What a careless app could write about an error: all of it. */
function dumpError (err: unknown): string[] {
  return [String(err), JSON.stringify(err), inspect(err, { depth: 10, showHidden: true }), (err as Error)?.stack ?? '']
}

async function observed (run: (c: ReturnType<typeof createTenzroClient>) => Promise<unknown>, opts: { baseUrl: string, key: string, tenantId: string, fetch?: FetchLike, retry?: Record<string, number> }): Promise<{ texts: string[], error: unknown }> {
  const { logger, lines } = memoryLogger()
  const t = memoryTracer()
  const c = createTenzroClient({ baseUrl: opts.baseUrl, apiKey: opts.key, tenantId: opts.tenantId, logger, tracer: t.tracer, retry: { baseMs: 5, capMs: 20, ...opts.retry }, ...(opts.fetch === undefined ? {} : { fetch: opts.fetch }) })
  let error: unknown
  try {
    await run(c)
  } catch (err) {
    error = err
  }
  const spans = await t.spans()
  await t.shutdown()
  const texts = [
    ...lines,
    ...spans.map((s) => JSON.stringify({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links })),
    ...(error === undefined ? [] : dumpError(error)),
    inspect(c, { depth: 10 }),
    JSON.stringify(c)
  ]
  return { texts, error }
}

describe('reference client: secrets', () => {
  it('finds a leaked key when there is one (the search itself works)', async () => {
    mock = await startClientMock()
    const k = mock.keys.acme
    const { logger, lines } = memoryLogger()
    // A deliberately careless wrapper that logs request headers: this is what the search must catch.
    const leaky: FetchLike = (url, init) => {
      logger.debug?.({ url, headers: init.headers as Record<string, string> }, 'fetch')
      lines.push(Buffer.from(`auth=${(init.headers as Record<string, string>)['x-api-key']}`).toString('base64'))
      return fetch(url, init)
    }
    const c = createTenzroClient({ baseUrl: mock.url, apiKey: k.key, tenantId: k.tenantId, fetch: leaky })
    await c.wallets.list()
    expect(findLeaks([lines[0]!], k.key).length).toBeGreaterThan(0)
    expect(findLeaks([lines[1]!], k.key).length).toBeGreaterThan(0)
  })

  it('keeps a live key out of logs, spans and errors across retries, 429s and a lost response', async () => {
    mock = await startClientMock()
    const k = mock.keys.acme
    await setFaults(mock, {
      faults: [
        { type: 'error', status: 503, retryAfterS: 1, times: 1, scope: { route: 'GET /api/wallet/list' } },
        { type: 'error', status: 500, times: 1, scope: { route: 'GET /api/wallet/list' } },
        { type: 'rate-limit-burst', retryAfterS: 1, after: 2, times: 1, scope: { route: 'GET /api/wallet/list' } },
        { type: 'lost-response', scope: { route: 'POST /api/wallet/create' } }
      ]
    })
    const { texts, error } = await observed(async (c) => {
      for await (const w of c.wallets.all({ limit: 10 })) void w
      await c.wallets.create({ name: 'never-answered', type: 'mpc', chain: 'ethereum' })
    }, { baseUrl: mock.url, key: k.key, tenantId: k.tenantId, retry: { maxAttempts: 3 } })
    expect((error as { code?: string }).code).toBe('network_error')
    expect(texts.some((t) => t.includes('retrying'))).toBe(true)
    expect(findLeaks(texts, k.key)).toEqual([])
  })

  it('keeps a refused canary key out of everything on 401 and on a 429 that outlasts the deadline', async () => {
    mock = await startClientMock()
    const canary = fakeKey('acme', 'CANARYx7')
    const r401 = await observed((c) => c.wallets.list(), { baseUrl: mock!.url, key: canary, tenantId: 'acme' })
    expect((r401.error as { code?: string }).code).toBe('invalid_api_key')
    expect(findLeaks(r401.texts, canary)).toEqual([])

    const k = await createKey(mock, 'acme')
    await setFaults(mock, { faults: [{ type: 'rate-limit-burst', retryAfterS: 30 }] })
    const r429 = await observed((c) => c.wallets.list(), { baseUrl: mock.url, key: k.key, tenantId: 'acme', retry: { deadlineMs: 1000 } })
    expect((r429.error as { code?: string, status?: number }).status).toBe(429)
    expect(findLeaks(r429.texts, k.key)).toEqual([])
  })

  it('keeps the key out of network errors and of the event stream’s errors', async () => {
    const canary = fakeKey('acme', 'CANARYn3')
    // Nothing listens on port 9 of the loopback: connection refused, retried, then given up.
    const refused = await observed((c) => c.wallets.list(), { baseUrl: 'http://127.0.0.1:9', key: canary, tenantId: 'acme', retry: { maxAttempts: 2 } })
    expect((refused.error as { code?: string }).code).toBe('network_error')
    expect(findLeaks(refused.texts, canary)).toEqual([])

    mock = await startClientMock()
    const stream = await observed((c) => c.events.consume({ handler: () => {}, lastEventId: '0' }), { baseUrl: mock.url, key: canary, tenantId: 'acme' })
    expect((stream.error as { status?: number }).status).toBe(401)
    expect(findLeaks(stream.texts, canary)).toEqual([])

    // A live key through a stream that is dropped and resumed.
    const k = mock.keys.acme
    await setFaults(mock, { faults: [{ type: 'sse-drop', afterEvents: 1, where: 'before-blank' }] })
    const ac = new AbortController()
    let n = 0
    const live = observed((c) => c.events.consume({ lastEventId: '0', signal: ac.signal, handler: () => { n++ } }), { baseUrl: mock.url, key: k.key, tenantId: k.tenantId })
    await publish(mock, 'acme', 'wallet.created', {})
    await publish(mock, 'acme', 'wallet.created', {})
    await waitUntil(() => n >= 2, 5000, 'two events')
    ac.abort()
    expect(findLeaks((await live).texts, k.key)).toEqual([])
  })

  it('keeps the key out of errors about bad JSON and about a server that echoes the key back', async () => {
    // Its secret holds '_' (base64url may): the client must still know where the secret starts.
    const canary = fakeKey('acme', 'CAN_ARYj5')
    server = createServer((req, res) => {
      const key = String(req.headers['x-api-key'])
      const secret = key.split('_').slice(2).join('_')
      if (req.url?.startsWith('/api/wallet/list?limit=1') === true) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(`{"data": [ not json ${key}`)
        return
      }
      // A hostile or buggy server: the key in the message, in a detail, and URL-encoded.
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({
        error: { code: 'validation_error', message: `bad key ${key} (${encodeURIComponent(key)}), secret ${secret}`, details: [{ field: 'X-API-Key', message: key }, { field: 'secret', message: Buffer.from(secret).toString('base64') }] }
      }))
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const addr = server.address()
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`
    const bad = await observed((c) => c.wallets.list({ limit: 1 }), { baseUrl: url, key: canary, tenantId: 'acme' })
    expect((bad.error as { code?: string }).code).toBe('invalid_response')
    expect(findLeaks(bad.texts, canary)).toEqual([])
    const echo = await observed((c) => c.wallets.list(), { baseUrl: url, key: canary, tenantId: 'acme' })
    expect((echo.error as { code?: string }).code).toBe('validation_error')
    expect((echo.error as Error).message).toMatch(/\[REDACTED\]/)
    expect(findLeaks(echo.texts, canary)).toEqual([])
  })

  it('refuses a base URL that carries credentials or a query, and never shows the key when it does', () => {
    const canary = fakeKey('acme', 'CANARYu1')
    for (const baseUrl of [`http://user:${canary}@127.0.0.1:1`, `http://127.0.0.1:1/?key=${canary}`]) {
      let err: unknown
      try { createTenzroClient({ baseUrl, apiKey: canary, tenantId: 'acme' }) } catch (e) { err = e }
      expect((err as { code?: string }).code).toBe('invalid_options')
      expect(findLeaks(dumpError(err), canary)).toEqual([])
    }
  })
})
