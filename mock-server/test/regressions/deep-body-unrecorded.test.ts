// Regression: any POST with a body nested ~5,000 deep or more was missing from the record and the log
// (contract 7.3), whatever its status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { headersFor, readRecord, startMock, type TestMock } from '../helper.ts'

let m: TestMock
beforeAll(async () => { m = await startMock({ rateLimit: { limit: 1_000_000 } }) })
afterAll(async () => { await m.close() })

describe('a POST whose body nests 6,000 deep', () => {
  for (const path of ['/api/wallet/create', '/api/keys', '/__harness/events', '/__harness/faults']) {
    it(`is in the record and the log (${path})`, async () => {
      const rid = `deep-${path.replace(/\W/g, '')}`
      const res = await fetch(m.url + path, { method: path === '/__harness/faults' ? 'PUT' : 'POST', headers: headersFor(m.keys.acme, { 'content-type': 'application/json', 'x-request-id': rid }), body: '['.repeat(6000) + ']'.repeat(6000) })
      expect(res.status).toBeLessThan(500)
      await res.text()
      const rec = await readRecord(m)
      expect(rec.filter((e) => e.type === 'request' && e.requestId === rid)).toHaveLength(1)
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(m.logs.filter((l) => l.includes(`"reqId":"${rid}"`)).length).toBeGreaterThanOrEqual(1)
    })
  }
})
