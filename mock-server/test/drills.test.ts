// The mock's side of the drills, through a real socket: keys bound to a network (X-Network, 403
// network_mismatch, docs/api.md 2.8), every key of a tenant revoked in one call with its streams
// closed at once, and the hostile payloads served verbatim (docs/api.md 7.4, 7.6).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { control, expectErrorEnvelope, headersFor, QUIET, readRecord, startMock, type TestMock } from './helper.ts'

type Made = { tenantId: string, key: string, keyId: string }

async function tenant (m: TestMock, body: Record<string, unknown> = {}): Promise<Made> {
  const r = await control(m, 'POST', '/__harness/tenants', body)
  expect(r.status).toBe(201)
  return { tenantId: r.body.data.tenant.id, key: r.body.data.key.key, keyId: r.body.data.key.id }
}

/** Read an SSE body until `until` matches the text so far or the stream ends; the text. */
async function readStream (res: Response, until: (text: string) => boolean): Promise<string> {
  const d = new TextDecoder()
  let text = ''
  for await (const c of res.body!) {
    text += d.decode(c as Uint8Array, { stream: true })
    if (until(text)) break
  }
  return text
}

describe('keys bound to a network (X-Network)', () => {
  let m: TestMock
  beforeAll(async () => { m = await startMock({ ...QUIET, events: { generatorRate: 0 } }) })
  afterAll(async () => { await m.close() })

  it('serves a testnet key on testnet and refuses it on mainnet and on devnet (no header) with 403 network_mismatch', async () => {
    const t = await tenant(m, { network: 'testnet' })
    const k = { key: t.key, tenantId: t.tenantId }
    expect((await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(k, { 'x-network': 'testnet' }) })).status).toBe(200)
    const wrong = await expectErrorEnvelope(await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(k, { 'x-network': 'mainnet' }) }), 403, 'network_mismatch')
    expect(wrong.error.details[0]!.field).toBe('X-Network')
    expect(JSON.stringify(wrong)).not.toContain(t.key.slice(12))
    await expectErrorEnvelope(await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(k) }), 403, 'network_mismatch')
    // The stream is refused the same way, before it opens.
    await expectErrorEnvelope(await fetch(`${m.url}/api/events/stream`, { headers: headersFor(k, { 'x-network': 'devnet', accept: 'text/event-stream' }) }), 403, 'network_mismatch')
  })

  it('serves an unbound key on every network, and still refuses an unknown network with 400 validation_error', async () => {
    const t = await tenant(m)
    const k = { key: t.key, tenantId: t.tenantId }
    for (const n of ['devnet', 'testnet', 'mainnet']) expect((await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(k, { 'x-network': n }) })).status).toBe(200)
    await expectErrorEnvelope(await fetch(`${m.url}/api/wallet/list`, { headers: headersFor(k, { 'x-network': 'prod' }) }), 400, 'validation_error')
  })

  it('records the network of each request and the refusal as an authentication attempt', async () => {
    const t = await tenant(m, { network: 'mainnet' })
    await fetch(`${m.url}/api/wallet/list`, { headers: headersFor({ key: t.key, tenantId: t.tenantId }, { 'x-network': 'testnet' }) })
    const rec = (await readRecord(m)).filter((e) => e.type === 'request' && e.keyId === t.keyId)
    expect(rec.at(-1)).toMatchObject({ network: 'testnet', auth: 'refused', code: 'network_mismatch', status: 403, tenant: t.tenantId })
    expect(typeof rec.at(-1)!.ip).toBe('string')
  })

  it('validates the network of a new key', async () => {
    const r = await control(m, 'POST', '/__harness/keys', { tenant: 'acme', network: 'moonnet' })
    expect(r.status).toBe(400)
    expect(r.body.error.details[0].field).toBe('network')
  })
})

describe('every key of a tenant revoked at once', () => {
  let m: TestMock
  beforeAll(async () => { m = await startMock({ ...QUIET, events: { generatorRate: 20, heartbeatMs: 1000 } }) })
  afterAll(async () => { await m.close() })

  it('revokes every live key with one revocation time, closes each key\'s streams, and leaves other tenants alone', async () => {
    const t = await tenant(m)
    const second = (await control(m, 'POST', '/__harness/keys', { tenant: t.tenantId })).body.data as { id: string, key: string }
    const other = await tenant(m)
    const streams = [t.key, second.key].map((key) => fetch(`${m.url}/api/events/stream`, { headers: headersFor({ key, tenantId: t.tenantId }, { accept: 'text/event-stream' }) }))
    const opened = await Promise.all(streams)
    for (const r of opened) expect(r.status).toBe(200)
    const reading = opened.map((r) => readStream(r, () => false))
    const r = await control(m, 'POST', `/__harness/tenants/${t.tenantId}/revoke-keys`, {})
    expect(r.status).toBe(200)
    const revoked = r.body.data.revoked as Array<{ id: string, revokedAt: string }>
    expect(revoked.map((k) => k.id).sort()).toEqual([t.keyId, second.id].sort())
    expect(new Set(revoked.map((k) => k.revokedAt)).size).toBe(1)
    // Both streams end (the mock closes them); a request after is refused; the other tenant is served.
    await Promise.all(reading)
    await expectErrorEnvelope(await fetch(`${m.url}/api/wallet/list`, { headers: headersFor({ key: second.key, tenantId: t.tenantId }) }), 401, 'revoked_api_key')
    expect((await fetch(`${m.url}/api/wallet/list`, { headers: headersFor({ key: other.key, tenantId: other.tenantId }) })).status).toBe(200)
    const closes = (await readRecord(m)).filter((e) => e.type === 'stream' && e.phase === 'close' && e.tenant === t.tenantId)
    expect(closes.map((c) => c.reason)).toEqual(['revoked', 'revoked'])
    // A second call has nothing left to revoke; an unknown tenant is 404.
    expect((await control(m, 'POST', `/__harness/tenants/${t.tenantId}/revoke-keys`, {})).body.data.revoked).toEqual([])
    expect((await control(m, 'POST', '/__harness/tenants/nosuch/revoke-keys', {})).status).toBe(404)
  })
})

describe('hostile payloads', () => {
  let m: TestMock
  beforeAll(async () => { m = await startMock({ ...QUIET, events: { generatorRate: 0, heartbeatMs: 1000 } }) })
  // Not m.close(): the hostile wallet list breaks the documented wallet shape on purpose (an upstream
  // injecting), so the conformance check of every answer does not apply to this mock.
  afterAll(async () => { await m.app.close() })

  it('serves the hostile events verbatim on the stream: numbers beyond 2^53, __proto__ keys, lone surrogates, a 1 MiB string', async () => {
    const t = await tenant(m)
    const inj = await control(m, 'POST', `/__harness/tenants/${t.tenantId}/hostile`, { wallets: false })
    expect(inj.status).toBe(201)
    const events = inj.body.data.events as Array<{ seq: number, kind: string }>
    expect(events.map((e) => e.kind)).toContain('proto-keys')
    expect(inj.body.data.wallets).toEqual([])
    const res = await fetch(`${m.url}/api/events/stream`, { headers: headersFor({ key: t.key, tenantId: t.tenantId }, { accept: 'text/event-stream', 'last-event-id': '0' }) })
    const last = events.at(-1)!.seq
    const text = await readStream(res, (s) => s.includes(`id: ${last}\n`) && s.endsWith('\n\n'))
    expect(text).toContain('"amount":9007199254740993')
    expect(text).toContain('"sequence":123456789012345678901234567890')
    expect(text).toContain('"__proto__":{"isAdmin":true,"polluted":true}')
    expect(text).toContain('\\ud800')
    expect(text).toContain('event: wallet.teleported')
    expect(text).toContain('A'.repeat(1024 * 1024))
  })

  it('puts the hostile wallets first in the list, with raw JSON the contract never promises', async () => {
    const t = await tenant(m)
    const inj = await control(m, 'POST', `/__harness/tenants/${t.tenantId}/hostile`, { events: false })
    expect(inj.body.data.events).toEqual([])
    const res = await fetch(`${m.url}/api/wallet/list?limit=10`, { headers: headersFor({ key: t.key, tenantId: t.tenantId }) })
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text).toContain('"nonce":18446744073709551617')
    expect(text).toContain('"__proto__":{"isAdmin":true}')
    const body = JSON.parse(text) as { data: Array<{ id: string }> }
    expect(body.data.map((w) => w.id).sort()).toEqual((inj.body.data.wallets as Array<{ id: string }>).map((w) => w.id).sort())
  })

  it('refuses a bad body with validation_error and an unknown tenant with not_found', async () => {
    expect((await control(m, 'POST', '/__harness/tenants/acme/hostile', { events: 'yes' })).status).toBe(400)
    expect((await control(m, 'POST', '/__harness/tenants/nosuch/hostile', {})).status).toBe(404)
  })
})
