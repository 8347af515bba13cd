// Regression: an event whose data nests ~8,000 arrays deep, posted to POST /__harness/events, was
// answered 500 but stored; a stream replaying it under back-pressure threw an uncaught RangeError in the
// frame writer and the process exited. The control API must refuse it (400) and store nothing, and the
// mock (a real child process) must stay up whatever a stream meets.
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const BIN = fileURLToPath(new URL('../../../bin/tenzro-mock.js', import.meta.url))
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n)

describe('an event nested 8,000 deep (control API)', () => {
  const child = spawn(process.execPath, [BIN, '--port', '0', '--log-level', 'silent'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let exited: number | null | undefined
  child.on('exit', (code) => { exited = code })
  afterAll(() => { if (exited === undefined) child.kill('SIGKILL') })
  const url = new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += String(c)
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m !== null) resolve(m[1]!)
    })
    child.on('exit', () => { reject(new Error('mock exited before listening')) })
  })

  it('is refused with 400 validation_error, never stored, and a replaying stream cannot kill the mock', async () => {
    const base = await url
    const post = (body: string) => fetch(base + '/__harness/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    const t = await (await fetch(base + '/__harness/tenants', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json() as { data: { tenant: { id: string }, key: { key: string } } }
    // Enough ordinary events first that the replay fills the socket and resumes from a drain.
    const filler = JSON.stringify({ tenant: t.data.tenant.id, type: 'wallet.created', data: { pad: 'x'.repeat(8000) } })
    for (let i = 0; i < 200; i++) await (await post(filler)).text()
    const res = await post(`{"tenant":"${t.data.tenant.id}","type":"wallet.created","data":${deep(8000)}}`)
    const body = await res.json() as { error?: { code: string } }
    // Nothing was stored: the next event takes the sequence right after the 200 ordinary ones.
    const next = await (await post(filler)).json() as { data?: { sequence: number } }
    // Replay everything to a reader that starts slow, then drains.
    const socket = connect(Number(new URL(base).port), '127.0.0.1')
    socket.write(`GET /api/events/stream?last_event_id=0 HTTP/1.1\r\nHost: x\r\nX-API-Key: ${t.data.key.key}\r\nX-Tenant-Id: ${t.data.tenant.id}\r\n\r\n`)
    socket.pause()
    await new Promise((resolve) => setTimeout(resolve, 500))
    socket.resume()
    socket.on('data', () => {})
    await new Promise((resolve) => setTimeout(resolve, 1000))
    socket.destroy()
    expect(exited).toBeUndefined()
    const health = await fetch(base + '/health')
    expect(health.status).toBe(200)
    expect(res.status).toBe(400)
    expect(body.error?.code).toBe('validation_error')
    expect(next.data?.sequence).toBe(201)
    const record = await (await fetch(base + '/__harness/record')).text()
    expect(record.split('\n').filter((l) => l.includes('"route":"/__harness/events"') && l.includes('"status":201'))).toHaveLength(201)
  }, 60_000)
})
