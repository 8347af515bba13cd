// Regression: POST /api/wallet/create with X-Idempotency-Key and a body nested ~3,000 (objects) or
// ~4,000 (arrays) deep answered 500 internal_error; without the header it was a correct 400.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectErrorEnvelope, headersFor, QUIET, startMock, type TestMock } from '../helper.ts'

let m: TestMock
beforeAll(async () => { m = await startMock(QUIET) })
afterAll(async () => { await m.close() })

const objects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)
const arrays = (n: number) => '['.repeat(n) + ']'.repeat(n)

describe('a deeply nested body on an idempotent POST', () => {
  for (const [label, body] of [['objects 3,000 deep', objects(3000)], ['arrays 4,000 deep', arrays(4000)]] as const) {
    it(`answers 400 validation_error for ${label}, with or without X-Idempotency-Key`, async () => {
      for (const extra of [{ 'x-idempotency-key': `deep-${label.length}-${Math.random()}` }, {}] as Array<Record<string, string>>) {
        const res = await fetch(m.url + '/api/wallet/create', { method: 'POST', headers: headersFor(m.keys.acme, { 'content-type': 'application/json', ...extra }), body })
        const e = await expectErrorEnvelope(res, 400, 'validation_error')
        expect(e.error.details.map((d) => d.field)).toContain('body')
      }
    })
  }
})
