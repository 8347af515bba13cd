// The request record stays bounded (contract 7.3): a ring of record.capacity entries, the oldest dropped
// and counted, sequence numbers that keep counting; and with record.file every entry is also spilled to
// disk as NDJSON. HTTP rules only, so app.inject() (house style principle 7); the 1,000,000-request
// memory measurement is the bench's.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.ts'
import { resolveConfig } from '../src/config.ts'
import { createRecord } from '../src/domain/record.ts'
import { fakeKey } from './helper.ts'

const dir = mkdtempSync(join(tmpdir(), 'tenzro-record-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

describe('bounded record (contract 7.3)', () => {
  it('retains record.capacity entries of 5000 requests, drops and counts the oldest, and keeps counting', async () => {
    const app = await buildApp(resolveConfig({ logLevel: 'silent', record: { capacity: 1000 }, rateLimit: { limit: 1_000_000_000 } }))
    try {
      const tenant = app.mock.keys.tenant('acme')!
      const { key } = app.mock.keys.createKey(tenant)
      const headers = { 'x-api-key': key, 'x-tenant-id': 'acme' }
      // A mix: successes, refusals and 404s are all recorded.
      for (let i = 1; i <= 5000; i++) {
        const r = i % 10 === 0
          ? await app.inject({ method: 'GET', url: '/api/wallet/list?limit=1', headers: { ...headers, 'x-api-key': fakeKey('acme') } })
          : i % 10 === 1
            ? await app.inject({ method: 'GET', url: `/nope/${i}` })
            : await app.inject({ method: 'GET', url: '/api/wallet/list?limit=1', headers })
        expect(r.statusCode).toBe(i % 10 === 0 ? 401 : i % 10 === 1 ? 404 : 200)
      }
      expect(app.mock.record.stats()).toMatchObject({ lastSeq: 5000, retained: 1000, dropped: 4000, capacity: 1000 })
      const entries = [...app.mock.record.after(0)]
      expect(entries).toHaveLength(1000)
      expect(entries[0]!.seq).toBe(4001)
      expect(entries.at(-1)!.seq).toBe(5000)
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => 4001 + i))
      // The newest entries are the last requests, in order: the 5000th was a refusal.
      expect(entries.at(-1)).toMatchObject({ status: 401, code: 'invalid_api_key' })
      expect(entries.at(-10)).toMatchObject({ status: 404, path: '/nope/4991' })
      // A reader that is behind gets what is retained; one that is current gets the rest.
      expect([...app.mock.record.after(10)][0]!.seq).toBe(4001)
      expect([...app.mock.record.after(4990)].map((e) => e.seq)).toEqual([4991, 4992, 4993, 4994, 4995, 4996, 4997, 4998, 4999, 5000])
      // Sequence numbers go on, through the API too.
      await app.inject({ method: 'GET', url: '/health' })
      const res = await app.inject({ method: 'GET', url: '/__harness/record?after=5000', remoteAddress: '127.0.0.1' })
      expect(res.body.trim().split('\n').map((l) => JSON.parse(l).seq)).toEqual([5001])
      expect(res.headers['x-record-dropped']).toBe('4001')
      expect(app.mock.record.stats()).toMatchObject({ lastSeq: 5002, retained: 1000, dropped: 4002 })
    } finally {
      await app.close()
    }
  })

  it('reports only entries after a reset as retained, and keeps the sequence going', () => {
    let t = 0
    const record = createRecord({ capacity: 100, now: () => t++ })
    for (let i = 0; i < 250; i++) record.append('request', { n: i })
    expect(record.stats()).toMatchObject({ lastSeq: 250, retained: 100, dropped: 150 })
    record.clear()
    expect(record.stats()).toMatchObject({ lastSeq: 250, retained: 0 })
    expect([...record.after(0)]).toEqual([])
    record.append('request', { n: 'after' })
    expect(record.stats()).toMatchObject({ lastSeq: 251, retained: 1 })
    expect([...record.after(0)]).toEqual([{ seq: 251, type: 'request', ts: expect.any(Number), n: 'after' }])
  })
})

describe('record.file (contract 7.3)', () => {
  it('spills every entry to the file as NDJSON, including those the ring dropped', async () => {
    const file = join(dir, 'spill.ndjson')
    const app = await buildApp(resolveConfig({ logLevel: 'silent', record: { capacity: 100, file } }))
    for (let i = 0; i < 250; i++) await app.inject({ method: 'GET', url: '/health' })
    const retained = [...app.mock.record.after(0)]
    await app.close()
    const lines = readFileSync(file, 'utf8').split('\n')
    expect(lines.pop()).toBe('')
    const spilled = lines.map((l) => JSON.parse(l))
    expect(spilled.map((e) => e.seq)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1))
    expect(spilled.every((e) => e.type === 'request' && e.path === '/health' && e.status === 200)).toBe(true)
    // The retained tail is the same entries the file holds.
    expect(spilled.slice(150)).toEqual(retained)
  })

  it('fails buildApp when the file cannot be opened, rather than crashing later', async () => {
    await expect(buildApp(resolveConfig({ logLevel: 'silent', record: { file: join(dir, 'no', 'such', 'dir', 'r.ndjson') } }))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})

describe('abandoned requests (contract 7.3)', () => {
  it('records a request whose client hangs up in the middle of a slow body, with the status it was sent', async () => {
    const { startMock, headersFor } = await import('./helper.ts')
    const { get } = await import('node:http')
    const m = await startMock()
    try {
      const plan = { faults: [{ type: 'slow-body', chunkBytes: 10, delayMs: 200, scope: { route: 'GET /api/wallet/list' } }] }
      expect((await fetch(m.url + '/__harness/faults', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(plan) })).status).toBe(200)
      const gotFirstChunk = new Promise<void>((resolve, reject) => {
        const req = get(m.url + '/api/wallet/list', { headers: headersFor(m.keys.acme) }, (res) => {
          res.once('data', () => { req.destroy(); resolve() })
        })
        req.on('error', (err) => { if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err) })
      })
      await gotFirstChunk
      await expect.poll(() => [...m.app.mock.record.after(0)].filter((e) => e.type === 'request' && e.route === '/api/wallet/list').length, { timeout: 2000 }).toBe(1)
      const entry = [...m.app.mock.record.after(0)].find((e) => e.route === '/api/wallet/list')!
      expect(entry.status).toBe(200)
      expect(entry.keyId).toBe(m.keys.acme.id)
      expect(entry.faults).toEqual(['slow-body#0'])
    } finally {
      await m.close()
    }
  })
})
