// The SSE parser and the reconnect tracker of lib/sse.ts, on bodies shaped like contract 4.3 frames.
import { describe, test, expect } from 'vitest'
import { createStreamTracker, parseEventStream } from '../lib/sse.ts'
import type { SseEvent } from '../lib/sse.ts'

const TENANT = '6f1c2d3e-0000-4000-8000-000000000001'

function frame (seq: number, type = 'ledger.entry.created'): string {
  return `id: ${seq}\nevent: ${type}\ndata: ${JSON.stringify({ id: `evt_${seq}`, type, tenantId: TENANT, timestamp: '2026-01-01T00:00:00Z', data: { n: seq } })}\n\n`
}

function events (...seqs: number[]): SseEvent[] {
  return parseEventStream(seqs.map((s) => frame(s)).join('')).events
}

describe('parseEventStream', () => {
  test('reads retry:, comments and events with id, type and data (contract 4.3)', () => {
    const body = 'retry: 1000\n\n: heartbeat\n\n' + frame(7) + frame(8, 'wallet.created')
    const p = parseEventStream(body)
    expect(p.retryMs).toBe(1000)
    expect(p.comments).toBe(1)
    expect(p.events.map((e) => [e.id, e.type, e.hasId])).toEqual([['7', 'ledger.entry.created', true], ['8', 'wallet.created', true]])
    expect(JSON.parse(p.events[0]!.data)).toMatchObject({ id: 'evt_7', tenantId: TENANT })
    expect(p.lastEventId).toBe('8')
    expect(p.truncated).toBe(false)
  })

  test('joins multi-line data, accepts CRLF and CR line ends, a BOM, and fields without a space', () => {
    const p = parseEventStream('\ufeffid:1\r\ndata:a\r\ndata: b\r\n\r\nid: 2\rdata:  c\r\r')
    expect(p.events.map((e) => e.data)).toEqual(['a\nb', ' c'])
    expect(p.events.map((e) => e.type)).toEqual(['message', 'message'])
  })

  test('discards a frame the connection cut before its blank line and keeps the last complete id', () => {
    const cut = frame(1) + frame(2) + 'id: 3\nevent: ledger.entry.created\ndata: {"id":"evt_3"'
    const p = parseEventStream(cut)
    expect(p.events.map((e) => e.id)).toEqual(['1', '2'])
    expect(p.lastEventId).toBe('2')
    expect(p.truncated).toBe(true)
    // Cut after the id line but before the blank line: the id is not taken either (WHATWG dispatch).
    expect(parseEventStream(frame(1) + 'id: 2\ndata: x\n').lastEventId).toBe('1')
  })

  test('starts from the Last-Event-ID it reconnected with when the body holds no event', () => {
    const p = parseEventStream('retry: 500\n\n: heartbeat\n\n', '41')
    expect(p.events).toEqual([])
    expect(p.lastEventId).toBe('41')
    expect(p.retryMs).toBe(500)
  })

  test('ignores a retry: that is not all digits, and an id with NUL', () => {
    const p = parseEventStream('retry: 10s\n\nid: 5\u0000\ndata: x\n\n', '4')
    expect(p.retryMs).toBeUndefined()
    expect(p.events[0]!.id).toBe('4')
    expect(p.events[0]!.hasId).toBe(false)
  })
})

describe('createStreamTracker', () => {
  test('follows one stream across reconnects: every expected event once, nothing missing', () => {
    const t = createStreamTracker([10, 11, 12, 13])
    expect(t.accept(events(10, 11)).fresh).toBe(2)
    expect(t.missing()).toEqual([12, 13])
    const r = t.accept(events(12, 13))
    expect(r).toMatchObject({ fresh: 2, duplicates: 0, outOfOrder: 0, announcedLost: 0, malformed: [] })
    expect(t.missing()).toEqual([])
  })

  test('counts an event replayed after a resume as a duplicate (contract 4.6)', () => {
    const t = createStreamTracker([1, 2, 3])
    t.accept(events(1, 2))
    const r = t.accept(events(2, 3))
    expect(r.duplicates).toBe(1)
    expect(t.totals().duplicates).toBe(1)
    expect(t.missing()).toEqual([])
  })

  test('counts a new event older than one delivered as out of order, and a hole as missing', () => {
    const t = createStreamTracker([1, 2, 3, 4])
    t.accept(events(1, 3))
    expect(t.accept(events(2)).outOfOrder).toBe(1)
    expect(t.missing()).toEqual([4])
  })

  test('counts the range of a stream.gap frame as lost (contract 4.4)', () => {
    const t = createStreamTracker()
    const p = parseEventStream('event: stream.gap\ndata: {"from":3,"to":9}\n\n' + frame(10))
    const r = t.accept(p.events)
    expect(r.announcedLost).toBe(7)
    expect(r.fresh).toBe(1)
  })

  test('accepts events it did not expect (the background generator) without requiring them', () => {
    const t = createStreamTracker([5])
    t.accept(events(4, 5, 6))
    expect(t.missing()).toEqual([])
    expect(t.totals().fresh).toBe(3)
  })

  test('reports frames that break contract 4.3', () => {
    const t = createStreamTracker()
    const r = t.accept([
      { id: 'abc', hasId: true, type: 'wallet.created', data: '{}' },
      { id: '3', hasId: false, type: 'wallet.created', data: '{}' },
      { id: '4', hasId: true, type: 'wallet.created', data: 'not json' },
      { id: '5', hasId: true, type: 'wallet.created', data: JSON.stringify({ id: 'evt_6', type: 'wallet.created' }) },
      { id: '6', hasId: true, type: 'stream.gap', data: '{"from":"x"}' }
    ])
    expect(r.malformed).toHaveLength(5)
  })
})
