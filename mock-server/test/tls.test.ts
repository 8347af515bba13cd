// TLS mode (seed: "HTTPS only, TLS 1.2 or higher"): `tenzro-mock --tls` as a real child process, a
// verifying client and a client that turned verification off, TLS 1.0/1.1 refused, and the transport
// faults tls-untrusted and tls-downgrade with their record entries.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findBinary } from './helpers/binary.ts'

const BIN = fileURLToPath(new URL('../../bin/tenzro-mock.js', import.meta.url))
const OPENSSL = { name: 'openssl', envVar: 'OPENSSL_BIN', pkg: 'openssl' }
const missing = findBinary(OPENSSL) === undefined
if (missing) {
  if (process.env.CI !== undefined && process.env.CI !== '') throw new Error('openssl not found: apt-get install openssl')
  console.warn('skipping the TLS tests: openssl not found (apt-get install openssl, or set OPENSSL_BIN)')
}

interface Answer { status: number, protocol: string | null, body: string }
function get (url: string, path: string, tls: Record<string, unknown>, init: { method?: string, body?: string } = {}): Promise<Answer | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url + path, { agent: false, method: init.method ?? 'GET', headers: init.body === undefined ? {} : { 'content-type': 'application/json' }, ...tls }, (res) => {
      let body = ''
      res.on('data', (c) => { body += String(c) })
      res.on('end', () => { resolve({ status: res.statusCode!, protocol: (res.socket as import('node:tls').TLSSocket).getProtocol?.() ?? null, body }) })
    })
    req.on('error', (err: NodeJS.ErrnoException) => { resolve({ error: err.code ?? err.message }) })
    req.end(init.body)
  })
}

describe.skipIf(missing)('tenzro-mock --tls', () => {
  let url = ''
  let ca = ''
  const child = missing ? undefined : spawn(process.execPath, [BIN, '--tls', '--port', '0', '--log-level', 'silent'], { stdio: ['ignore', 'pipe', 'pipe'] })
  beforeAll(async () => {
    await new Promise<void>((resolve, reject) => {
      let out = ''
      child!.stdout!.on('data', (c: Buffer) => {
        out += String(c)
        const m = /listening on (https:\/\/\S+)\ntenzro-mock CA certificate (\S+)\n/.exec(out)
        if (m !== null) { url = m[1]!; ca = readFileSync(m[2]!, 'utf8'); resolve() }
      })
      child!.on('exit', (code) => { reject(new Error(`exited ${code}`)) })
    })
  }, 30_000)
  afterAll(() => { child?.kill('SIGTERM') })

  it('serves HTTPS to a client that trusts the CA it printed, over TLS 1.2 or later', async () => {
    const r = await get(url, '/health', { ca })
    expect(r).toMatchObject({ status: 200 })
    expect(['TLSv1.2', 'TLSv1.3']).toContain((r as Answer).protocol)
  })

  it('is refused by a client that does not trust the CA', async () => {
    expect(await get(url, '/health', {})).toEqual({ error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
  })

  it('refuses TLS 1.0 and 1.1 outside a tls-downgrade fault', async () => {
    const r = await get(url, '/health', { ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })
    expect('error' in r).toBe(true)
  })

  it('tls-untrusted: a verifying client refuses the handshake, one with rejectUnauthorized:false talks, and the record tells them apart', async () => {
    const set = await get(url, '/__harness/faults', { ca }, { method: 'PUT', body: JSON.stringify({ faults: [{ id: 'rogue', type: 'tls-untrusted', durationMs: 60_000 }] }) })
    expect(set).toMatchObject({ status: 200 })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await get(url, '/health', { ca })).toMatchObject({ error: expect.stringMatching(/UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER/) })
    expect(await get(url, '/api/wallet/list', { rejectUnauthorized: false })).toMatchObject({ status: 401 })
    // The control API through the same fault, for the record read below.
    const rec = await get(url, '/__harness/record', { rejectUnauthorized: false }) as Answer
    const faults = rec.body.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'fault' && e.fault === 'rogue')
    expect(faults.map((e) => e.phase)).toEqual(expect.arrayContaining(['start', 'refused', 'handshake', 'request']))
    expect(faults.find((e) => e.phase === 'request')).toMatchObject({ route: '/api/wallet/list', tlsFault: 'tls-untrusted' })
    expect(await get(url, '/__harness/faults', { rejectUnauthorized: false }, { method: 'DELETE' })).toMatchObject({ status: 200 })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await get(url, '/health', { ca })).toMatchObject({ status: 200 })
  })

  it('tls-downgrade: a default Node client refuses TLS 1.1; one that allows it connects and is recorded', async () => {
    await get(url, '/__harness/faults', { ca }, { method: 'PUT', body: JSON.stringify({ faults: [{ id: 'old', type: 'tls-downgrade' }] }) })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect('error' in await get(url, '/health', { ca })).toBe(true)
    const old = await get(url, '/api/wallet/list', { ca, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' })
    expect(old).toMatchObject({ status: 401, protocol: 'TLSv1.1' })
    const rec = await get(url, '/__harness/record', { ca, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }) as Answer
    const phases = rec.body.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.fault === 'old').map((e) => e.phase)
    expect(phases).toEqual(expect.arrayContaining(['start', 'refused', 'handshake', 'request']))
    await get(url, '/__harness/faults', { ca, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, { method: 'DELETE' })
  })
})
