// Regression: the mock had no load shedding; under overload it only got slower. Beyond the configured
// heap (here 1 byte, so every sample is over it) it answers 503 service_unavailable with Retry-After,
// records the refusal, and keeps /health and the control API answering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { control, expectErrorEnvelope, headersFor, readRecord, startMock, type TestMock } from '../helper.ts'
import type { MockConfigInput } from '../../src/config.ts'

let m: TestMock
beforeAll(async () => { m = await startMock({ logLevel: 'silent', overload: { maxHeapUsedBytes: 1, sampleIntervalMs: 20, retryAfterS: 3 } } as MockConfigInput) })
afterAll(async () => { await m.close() })

describe('overload shedding', () => {
  it('answers 503 service_unavailable with Retry-After once over the limit, recorded; /health and control keep answering', async () => {
    let res: Response
    for (let i = 0; ; i++) {
      res = await fetch(m.url + '/api/wallet/list', { headers: headersFor(m.keys.acme, { 'x-request-id': `shed-${i}` }) })
      if (res.status === 503 || i > 50) break
      await res.text()
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const rid = res.headers.get('x-request-id')!
    expect(res.headers.get('retry-after')).toBe('3')
    await expectErrorEnvelope(res, 503, 'service_unavailable', { requestId: rid, valid: true })
    expect((await fetch(m.url + '/health')).status).toBe(200)
    expect((await control(m, 'GET', '/__harness/faults')).status).toBe(200)
    const shed = (await readRecord(m)).filter((e) => e.type === 'request' && e.requestId === rid)
    expect(shed.map((e) => [e.status, e.code])).toEqual([[503, 'service_unavailable']])
  })
})
