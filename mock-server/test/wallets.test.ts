// Wallets (contract 3) through a real socket, always with two tenants: listing, cursors, creation,
// isolation (3.4), chain-valid addresses (3.1) and seeded fixtures (3.5).
import { keccak_256 } from '@noble/hashes/sha3.js'
import { bech32 } from '@scure/base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isValidAddress, type Chain } from '../src/domain/addresses.ts'
import { expectErrorEnvelope, headersFor, jsonOf, postJson, QUIET, startMock, type TestMock } from './helper.ts'

interface Wallet { id: string, name: string, type: string, chain: Chain, address: string, createdAt: string }
type Key = { key: string, tenantId: string }

async function page (m: TestMock, k: Key, query: string): Promise<{ status: number, body: { data: Wallet[], meta: { cursor: string | null, hasMore: boolean, requestId: string } } }> {
  const res = await fetch(`${m.url}/api/wallet/list${query}`, { headers: headersFor(k) })
  return { status: res.status, body: await jsonOf(res) }
}

/** Follow meta.cursor from the first page to the last; `between` runs after each page. */
async function walk (m: TestMock, k: Key, limit: number, extra = '', between?: () => Promise<unknown>): Promise<Wallet[]> {
  const out: Wallet[] = []
  let cursor: string | null = null
  for (let i = 0; i < 1000; i++) {
    const q: string = `?limit=${limit}${extra}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`
    const p = await page(m, k, q)
    expect(p.status).toBe(200)
    expect(p.body.data.length).toBeLessThanOrEqual(limit)
    out.push(...p.body.data)
    expect(p.body.meta.hasMore).toBe(p.body.meta.cursor !== null)
    if (p.body.meta.cursor === null) return out
    cursor = p.body.meta.cursor
    await between?.()
  }
  throw new Error('cursor walk did not end')
}

// Independent checks, not the mock's own validator: EIP-55 recomputed here, base58 decoded by hand.
function eip55Independent (address: string): boolean {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) return false
  const hex = address.slice(2)
  const hash = Buffer.from(keccak_256(Buffer.from(hex.toLowerCase(), 'ascii'))).toString('hex')
  for (let i = 0; i < 40; i++) {
    const c = hex[i]!
    if (/[0-9]/.test(c)) continue
    const upper = parseInt(hash[i]!, 16) >= 8
    if (upper !== (c === c.toUpperCase())) return false
  }
  return true
}
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
function base58Bytes (s: string): number {
  let n = 0n
  for (const c of s) {
    const v = B58.indexOf(c)
    if (v < 0) return -1
    n = n * 58n + BigInt(v)
  }
  const lead = s.length - s.replace(/^1+/, '').length
  return lead + (n === 0n ? 0 : Math.ceil(n.toString(16).length / 2))
}
function addressIndependentlyValid (w: Wallet): boolean {
  switch (w.chain) {
    case 'ethereum': return eip55Independent(w.address)
    case 'solana': return base58Bytes(w.address) === 32
    case 'bitcoin': {
      if (!w.address.startsWith('bc1q') || w.address !== w.address.toLowerCase()) return false
      const { prefix, words } = bech32.decode(w.address as `${string}1${string}`)
      return prefix === 'bc' && words[0] === 0 && bech32.fromWords(words.slice(1)).length === 20
    }
  }
}

describe('wallet list and create (contract 3.1-3.4)', () => {
  let m: TestMock
  beforeAll(async () => { m = await startMock({ ...QUIET, walletsPerTenant: 25 }) })
  afterAll(async () => { await m.close() })

  it('lists each tenant\'s own seeded wallets, newest first, and no two tenants share a wallet id', async () => {
    const acme = await walk(m, m.keys.acme, 100)
    const globex = await walk(m, m.keys.globex, 100)
    expect(acme).toHaveLength(25)
    expect(globex).toHaveLength(25)
    const acmeIds = new Set(acme.map((w) => w.id))
    expect(globex.some((w) => acmeIds.has(w.id))).toBe(false)
    for (const list of [acme, globex]) {
      const times = list.map((w) => Date.parse(w.createdAt))
      expect([...times].sort((a, b) => b - a)).toEqual(times)
      for (const w of list) {
        expect(Object.keys(w).sort()).toEqual(['address', 'chain', 'createdAt', 'id', 'name', 'type'])
        expect(w.id).toMatch(/^wal_[a-z0-9]{16}$/)
        expect(['mpc', 'multi-sig', 'single']).toContain(w.type)
      }
    }
  })

  it('defaults to 20 per page and refuses limits outside 1-100 on field limit', async () => {
    for (const k of [m.keys.acme, m.keys.globex]) {
      const p = await page(m, k, '')
      expect(p.body.data).toHaveLength(20)
      expect(p.body.meta.hasMore).toBe(true)
      for (const bad of ['0', '101', '-1', '1.5', 'ten', '']) {
        const res = await fetch(`${m.url}/api/wallet/list?limit=${bad}`, { headers: headersFor(k) })
        const body = await expectErrorEnvelope(res, 400, 'validation_error')
        expect(body.error.details.map((d) => d.field)).toEqual(['limit'])
      }
    }
  })

  it('filters by chain across pages and refuses an unknown chain', async () => {
    for (const k of [m.keys.acme, m.keys.globex]) {
      const all = await walk(m, k, 100)
      for (const chain of ['ethereum', 'solana', 'bitcoin'] as const) {
        const filtered = await walk(m, k, 3, `&chain=${chain}`)
        expect(filtered.map((w) => w.id)).toEqual(all.filter((w) => w.chain === chain).map((w) => w.id))
      }
      const body = await expectErrorEnvelope(await fetch(`${m.url}/api/wallet/list?chain=dogecoin`, { headers: headersFor(k) }), 400, 'validation_error')
      expect(body.error.details.map((d) => d.field)).toEqual(['chain'])
    }
  })

  it('returns every wallet exactly once while other requests create wallets concurrently (3.2)', async () => {
    for (const [k, other] of [[m.keys.acme, m.keys.globex], [m.keys.globex, m.keys.acme]] as const) {
      const before = new Set((await walk(m, k, 100)).map((w) => w.id))
      const otherBefore = (await walk(m, other, 100)).length
      const created: string[] = []
      const create = async (key: Key, i: number) => {
        const res = await postJson(m, '/api/wallet/create', key, { name: `Concurrent ${i}`, type: 'single', chain: 'solana' })
        expect(res.status).toBe(201)
        const w = (await jsonOf(res)).data as Wallet
        if (key === k) created.push(w.id)
      }
      // Creation in the walked tenant and the other, both between pages and racing the walk.
      let n = 0
      const racing = Promise.all(Array.from({ length: 20 }, (_, i) => create(i % 2 === 0 ? k : other, 100 + i)))
      const seen = await walk(m, k, 4, '', () => create(k, n++))
      await racing
      const ids = seen.map((w) => w.id)
      expect(new Set(ids).size).toBe(ids.length)
      for (const id of before) expect(ids).toContain(id)
      for (const id of ids) expect(before.has(id) || created.includes(id)).toBe(true)
      // Afterwards one walk sees everything once: the old, and all created during the first walk.
      const after = (await walk(m, k, 7)).map((w) => w.id)
      expect(new Set(after).size).toBe(after.length)
      expect(new Set(after)).toEqual(new Set([...before, ...created]))
      // The other tenant saw only its own creations.
      const otherAfter = await walk(m, other, 100)
      expect(otherAfter.some((w) => before.has(w.id) || created.includes(w.id))).toBe(false)
      expect(otherAfter.length).toBeGreaterThanOrEqual(otherBefore + 10)
    }
  })

  it('refuses a forged cursor, a tampered cursor and another tenant\'s cursor on field cursor (3.2, 3.4)', async () => {
    const acmeCursor = (await page(m, m.keys.acme, '?limit=2')).body.meta.cursor!
    const globexCursor = (await page(m, m.keys.globex, '?limit=2')).body.meta.cursor!
    expect(acmeCursor).toMatch(/^[A-Za-z0-9_-]+$/)
    const decoded = JSON.parse(Buffer.from(acmeCursor, 'base64url').toString('utf8')) as Record<string, unknown>
    const tampered = Object.fromEntries(Object.entries(decoded).map(([k, v]) => [k, typeof v === 'number' ? v + 1 : v]))
    const forged = [
      Buffer.from(JSON.stringify(tampered)).toString('base64url'),
      Buffer.from(JSON.stringify({ b: 5 })).toString('base64url'),
      Buffer.from('{"offset":10}').toString('base64url'),
      acmeCursor.slice(0, -2),
      'not a cursor',
      'A'.repeat(500),
      '%00'
    ]
    const attempts: Array<[Key, string]> = [
      ...forged.map((c): [Key, string] => [m.keys.acme, c]),
      ...forged.map((c): [Key, string] => [m.keys.globex, c]),
      [m.keys.globex, acmeCursor],
      [m.keys.acme, globexCursor]
    ]
    for (const [k, cursor] of attempts) {
      const res = await fetch(`${m.url}/api/wallet/list?cursor=${encodeURIComponent(cursor)}`, { headers: headersFor(k) })
      const body = await expectErrorEnvelope(res, 400, 'validation_error')
      expect(body.error.details.map((d) => d.field)).toEqual(['cursor'])
      expect(JSON.stringify(body)).not.toContain('wal_')
    }
    // The genuine cursors still work for their own tenant.
    expect((await page(m, m.keys.acme, `?cursor=${acmeCursor}`)).status).toBe(200)
    expect((await page(m, m.keys.globex, `?cursor=${globexCursor}`)).status).toBe(200)
  })

  it('creates wallets with chain-valid addresses, by the mock\'s validator and an independent one (3.1)', async () => {
    for (const k of [m.keys.acme, m.keys.globex]) {
      for (const chain of ['ethereum', 'solana', 'bitcoin'] as const) {
        for (const type of ['mpc', 'multi-sig', 'single']) {
          const res = await postJson(m, '/api/wallet/create', k, { name: `${chain} ${type}`, type, chain })
          expect(res.status).toBe(201)
          const body = await jsonOf(res)
          expect(Object.keys(body).sort()).toEqual(['data', 'meta'])
          expect(body.data).toMatchObject({ name: `${chain} ${type}`, type, chain })
          expect(body.meta.requestId).toBe(res.headers.get('x-request-id'))
        }
      }
      const all = await walk(m, k, 100)
      expect(new Set(all.map((w) => w.chain))).toEqual(new Set(['ethereum', 'solana', 'bitcoin']))
      for (const w of all) {
        expect(isValidAddress(w.chain, w.address), `${w.chain} ${w.address}`).toBe(true)
        expect(addressIndependentlyValid(w), `${w.chain} ${w.address}`).toBe(true)
      }
    }
  })

  it('has validators that reject broken addresses, so the check above can fail', () => {
    const eth = '0x' + 'ab'.repeat(20)
    expect(eip55Independent(eth)).toBe(false)
    expect(isValidAddress('ethereum', eth)).toBe(false)
    expect(isValidAddress('solana', '1111')).toBe(false)
    expect(base58Bytes('1111')).not.toBe(32)
    expect(isValidAddress('bitcoin', 'bc1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq')).toBe(false)
  })

  it('refuses bad wallet bodies, naming each bad field (3.3)', async () => {
    const cases: Array<[unknown, string[]]> = [
      [{ name: '', type: 'mpc', chain: 'ethereum' }, ['name']],
      [{ name: 'x'.repeat(65), type: 'mpc', chain: 'ethereum' }, ['name']],
      [{ name: 'tab\there', type: 'mpc', chain: 'ethereum' }, ['name']],
      [{ name: 123, type: 'mpc', chain: 'ethereum' }, ['name']],
      [{ name: 'ok', type: 'paper', chain: 'ethereum' }, ['type']],
      [{ name: 'ok', type: 'mpc', chain: 'ethereum', colour: 'red' }, ['colour']],
      [{}, ['name', 'type', 'chain']],
      [[], ['body']],
      ['a string', ['body']]
    ]
    for (const k of [m.keys.acme, m.keys.globex]) {
      const before = (await walk(m, k, 100)).length
      for (const [body, fields] of cases) {
        const res = await postJson(m, '/api/wallet/create', k, body)
        const e = await expectErrorEnvelope(res, 400, 'validation_error')
        expect(e.error.details.map((d) => d.field).sort()).toEqual([...fields].sort())
      }
      expect((await walk(m, k, 100)).length).toBe(before)
      // 64 characters, counted as characters rather than UTF-16 units, is allowed.
      expect((await postJson(m, '/api/wallet/create', k, { name: '🦊'.repeat(64), type: 'mpc', chain: 'bitcoin' })).status).toBe(201)
    }
  })
})

describe('seeded fixtures (contract 3.5)', () => {
  it('gives the same wallets for the same seed, other wallets for another seed, and none shared between tenants', async () => {
    const lists = async (seed: number) => {
      const m = await startMock({ ...QUIET, seed })
      try {
        return { acme: await walk(m, m.keys.acme, 100), globex: await walk(m, m.keys.globex, 100) }
      } finally {
        await m.close()
      }
    }
    const a = await lists(7)
    const b = await lists(7)
    const c = await lists(8)
    expect(b).toEqual(a)
    expect(a.acme.length).toBeGreaterThan(0)
    expect(c.acme.map((w) => w.id)).not.toEqual(a.acme.map((w) => w.id))
    for (const run of [a, c]) {
      const ids = new Set(run.acme.map((w) => w.id))
      expect(run.globex.filter((w) => ids.has(w.id))).toEqual([])
      for (const w of [...run.acme, ...run.globex]) expect(addressIndependentlyValid(w)).toBe(true)
    }
  })
})
