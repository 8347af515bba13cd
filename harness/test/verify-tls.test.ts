// `tenzro-harness verify --profile tls` on the two TLS example clients: the one that verifies the
// certificate against the CA it is given passes both tls checks; the one with rejectUnauthorized:false
// (and a TLS 1.0 floor) fails both. Real CLI, real child processes, real HTTPS.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { pool, verifyExample, type ExampleRun } from '../../bench/verdicts.ts'
import { findBinary } from '../../mock-server/test/helpers/binary.ts'

const missing = findBinary({ name: 'openssl', envVar: 'OPENSSL_BIN', pkg: 'openssl' }) === undefined
if (missing) {
  if (process.env.CI !== undefined && process.env.CI !== '') throw new Error('openssl not found: apt-get install openssl')
  console.warn('skipping verify --profile tls: openssl not found (apt-get install openssl, or set OPENSSL_BIN)')
}

const runs = new Map<string, ExampleRun>()

describe.skipIf(missing)('tenzro-harness verify --profile tls', () => {
  beforeAll(async () => {
    for (const r of await pool(['tls/verifies', 'tls/no-verify'], 2, (name) => verifyExample(name, { profile: 'tls', reportDir: mkdtempSync(join(tmpdir(), `verify-${name.replace('/', '-')}-`)) }))) runs.set(r.name, r)
  }, 120_000)

  it('passes a client that verifies the certificate and keeps TLS 1.2+', () => {
    const r = runs.get('tls/verifies')!
    expect(r.verdicts, r.out + r.err).toEqual({ 'tls/verifies-certificates': 'pass', 'tls/refuses-old-protocols': 'pass', 'auth/key-in-header': 'pass', 'auth/no-hot-loop-after-401': 'pass', 'secrets/no-leak': 'pass' })
    expect(r.exitCode).toBe(0)
  })

  it('fails a client with rejectUnauthorized:false on both tls checks', () => {
    const r = runs.get('tls/no-verify')!
    expect(r.verdicts['tls/verifies-certificates'], r.out).toBe('fail')
    expect(r.verdicts['tls/refuses-old-protocols'], r.out).toBe('fail')
    expect(r.exitCode).toBe(1)
  })
})
