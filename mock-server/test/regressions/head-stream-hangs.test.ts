// Regression: HEAD /api/events/stream was never answered; the connection hung.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { headersFor, QUIET, readRecord, startMock, type TestMock } from '../helper.ts'

let m: TestMock
beforeAll(async () => { m = await startMock(QUIET) })
afterAll(async () => { await m.close() })

describe('HEAD where GET exists', () => {
  it('answers HEAD /api/events/stream with the stream headers and no body, and opens no stream', async () => {
    const res = await fetch(m.url + '/api/events/stream', { method: 'HEAD', headers: headersFor(m.keys.acme, { 'x-request-id': 'head-stream' }), signal: AbortSignal.timeout(5000) })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(res.headers.get('x-request-id')).toBe('head-stream')
    expect(await res.text()).toBe('')
    const rec = await readRecord(m)
    expect(rec.filter((e) => e.type === 'request' && e.requestId === 'head-stream')).toHaveLength(1)
    expect(rec.filter((e) => e.type === 'stream')).toHaveLength(0)
  })

  it('refuses HEAD /api/events/stream without a key like GET does (401)', async () => {
    const res = await fetch(m.url + '/api/events/stream', { method: 'HEAD', signal: AbortSignal.timeout(5000) })
    expect(res.status).toBe(401)
  })
})
