// The client's SSE parser against the rules of the WHATWG HTML standard, "Interpreting an event
// stream" (9.2.6), and the frames of contract 4.3.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { createSseParser, type SseMessage } from '../src/client/index.ts'

function parse (...chunks: Array<string | Uint8Array>): { out: SseMessage[], retryMs: number | undefined, comments: number } {
  const p = createSseParser()
  const out: SseMessage[] = []
  for (const c of chunks) p.push(c, out)
  p.end()
  return { out, retryMs: p.retryMs, comments: p.comments }
}

const enc = (s: string) => new TextEncoder().encode(s)

describe('SSE parser (WHATWG 9.2.6)', () => {
  it('parses the frames of contract 4.3: retry, id, event, data, heartbeat comments', () => {
    const r = parse('retry: 1000\n\n: heartbeat\n\nid: 7\nevent: wallet.created\ndata: {"id":"evt_7"}\n\n')
    expect(r.out).toEqual([{ id: '7', event: 'wallet.created', data: '{"id":"evt_7"}' }])
    expect(r.retryMs).toBe(1000)
    expect(r.comments).toBe(1)
  })

  it('accepts LF, CRLF and CR line endings, mixed in one stream', () => {
    const r = parse('id: 1\r\ndata: a\r\n\r\nid: 2\rdata: b\r\rid: 3\ndata: c\n\n')
    expect(r.out.map((m) => [m.id, m.data])).toEqual([['1', 'a'], ['2', 'b'], ['3', 'c']])
  })

  it('treats a CRLF split across two chunks as one line ending, not two', () => {
    // A second terminator would be a blank line and dispatch an event without its data line.
    const r = parse('id: 1\r', '\ndata: x\r', '\n\r', '\n')
    expect(r.out).toEqual([{ id: '1', event: 'message', data: 'x' }])
  })

  it('joins multi-line data with LF and drops the final LF', () => {
    expect(parse('data: one\ndata: two\ndata:\ndata: four\n\n').out[0]!.data).toBe('one\ntwo\n\nfour')
  })

  it('removes exactly one space after the colon', () => {
    expect(parse('data:  two spaces\n\ndata:none\n\n').out.map((m) => m.data)).toEqual([' two spaces', 'none'])
  })

  it('takes a line without a colon as a field name with an empty value', () => {
    // "data" alone appends an empty line, so an event with empty data is dispatched.
    expect(parse('data\n\n').out).toEqual([{ id: '', event: 'message', data: '' }])
  })

  it('ignores unknown fields, comments, and an id containing NULL', () => {
    const r = parse('id: 5\nfoo: bar\n: comment\ndata: a\n\nid: 6\u00007\ndata: b\n\n')
    expect(r.out.map((m) => m.id)).toEqual(['5', '5'])
  })

  it('ignores a retry value that is not all ASCII digits', () => {
    expect(parse('retry: 10ms\n\n').retryMs).toBeUndefined()
    expect(parse('retry: 250\n\nretry: -5\n\n').retryMs).toBe(250)
  })

  it('does not dispatch an event without data but still moves the last event id', () => {
    const r = parse('id: 9\n\ndata: after\n\n')
    expect(r.out).toEqual([{ id: '9', event: 'message', data: 'after' }])
  })

  it('keeps the last event id for later events that carry none', () => {
    const r = parse('id: 3\ndata: a\n\ndata: b\n\n')
    expect(r.out.map((m) => m.id)).toEqual(['3', '3'])
  })

  it('resets the event type after each dispatch', () => {
    const r = parse('event: wallet.created\ndata: a\n\ndata: b\n\n')
    expect(r.out.map((m) => m.event)).toEqual(['wallet.created', 'message'])
  })

  it('discards an event whose blank line never came when the stream ends (a frame cut mid-way)', () => {
    // Contract 7.2 sse-drop `where: before-blank` and `after-id`.
    expect(parse('id: 1\ndata: a\n\nid: 2\nevent: wallet.created\ndata: {"x":1}\n').out.map((m) => m.id)).toEqual(['1'])
    expect(parse('id: 1\ndata: a\n\nid: 2\nevent: wallet.created\n').out.map((m) => m.id)).toEqual(['1'])
    expect(parse('id: 1\ndata: a\n\nid: 2\nda').out.map((m) => m.id)).toEqual(['1'])
  })

  it('strips one leading byte order mark, and only at the start of the stream', () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf])
    const r = parse(bom, enc('data: a\n\n'))
    expect(r.out).toEqual([{ id: '', event: 'message', data: 'a' }])
    // A BOM later in the stream is data.
    expect(parse(enc('data: a\n\n'), enc('data: \ufeffb\n\n')).out[1]!.data).toBe('\ufeffb')
    // With a BOM, "data" is still recognised as the field name (a second BOM would not be stripped).
    expect(parse(enc('\ufeff\ufeffdata: x\n\n')).out).toEqual([])
  })

  it('decodes a UTF-8 character split across chunks', () => {
    const bytes = enc('data: caf\u00e9 \u{1f600}\n\n')
    const r = parse(bytes.subarray(0, 10), bytes.subarray(10, 14), bytes.subarray(14))
    expect(r.out[0]!.data).toBe('caf\u00e9 \u{1f600}')
  })

  it('gives the same events for every way of cutting the stream into chunks', () => {
    const text = 'retry: 5\n\n: hb\r\nid: 1\r\nevent: a.b\r\ndata: {"k":"\u00e9"}\r\n\r\nid: 2\rdata: x\rdata: y\r\r: hb\n\nid: 3\nevent: c\ndata: z\n\nid: 4\ndata: cut'
    const bytes = enc(text)
    const whole = parse(bytes)
    expect(whole.out.map((m) => m.id)).toEqual(['1', '2', '3'])
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 12 }), (cuts) => {
      const points = [0, ...cuts.sort((a, b) => a - b), bytes.length]
      const chunks = points.slice(1).map((end, i) => bytes.subarray(points[i], end))
      const r = parse(...chunks)
      expect(r.out).toEqual(whole.out)
      expect(r.retryMs).toBe(5)
    }), { numRuns: 300, seed: 42 })
  })
})
