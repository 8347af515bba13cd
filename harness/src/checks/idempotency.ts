// Idempotency verdicts (seed: "Implement idempotency (events may be replayed)"; contract 4.6, 6):
// every POST carries X-Idempotency-Key, a retry after a lost response reuses it, nothing is created
// twice, and (from traces) no event id is processed twice.
import { entriesOf, requestsOf, startOf, type Evidence, type FrameEntry } from '../evidence.ts'
import { skip, verdict, type CheckResult, type Violation } from './types.ts'

/** How long a client has to retry a POST whose response was lost before its silence counts against it. */
export const LOST_RETRY_WINDOW_MS = 5_000

export function checkIdempotency (e: Evidence): CheckResult[] {
  const reqs = requestsOf(e).sort((a, b) => startOf(a) - startOf(b))
  const posts = reqs.filter((r) => r.method === 'POST' && r.auth === 'ok')
  const out: CheckResult[] = []
  const missing: Violation[] = posts.filter((r) => r.idempotency === 'missing')
    .map((r) => ({ message: `POST ${r.path} without X-Idempotency-Key`, at: startOf(r), requestId: r.requestId }))
  out.push(posts.length === 0
    ? skip('idempotency/keys-on-posts', 'Every POST carries X-Idempotency-Key', 'the client sent no POST')
    : verdict('idempotency/keys-on-posts', 'Every POST carries X-Idempotency-Key', missing, { posts: posts.length }, `all ${posts.length} POSTs carried a key`))

  const allLost = reqs.filter((r) => r.lostResponse)
  const reuse: Violation[] = []
  const dupes: Violation[] = []
  const lost: typeof allLost = []
  // A loss the client never answered is judged only when the run went on long enough for a retry
  // (LOST_RETRY_WINDOW_MS): a loss just before the end proves nothing, and would fail a correct client
  // only because it was slow or the machine busy.
  let tooLate = 0
  for (const l of allLost) {
    const next = posts.find((p) => startOf(p) > startOf(l) && p.route === l.route && p.keyId === l.keyId && p !== l)
    if (next === undefined && e.setup.endMs - l.ts < LOST_RETRY_WINDOW_MS) { tooLate++; continue }
    lost.push(l)
    if (next === undefined) {
      reuse.push({ message: `no retry after the response to POST ${l.path} was lost (key ${l.idempotencyKey ?? 'none'})`, at: l.ts, requestId: l.requestId })
      continue
    }
    if (l.idempotencyKey === null || next.idempotencyKey !== l.idempotencyKey) {
      reuse.push({ message: `the retry after a lost response used ${next.idempotencyKey === null ? 'no key' : 'a different key'} (first ${l.idempotencyKey === null ? 'none' : 'a key'})`, at: startOf(next), requestId: next.requestId })
    }
    if (next.status === 201 && next.idempotency !== 'replayed') {
      dupes.push({ message: `POST ${l.path} created a second resource after a lost response (the first was created at ${new Date(l.ts).toISOString()})`, at: next.ts, requestId: next.requestId })
    }
  }
  const noLost = tooLate === 0
    ? 'no response was lost (no lost-response fault hit a POST)'
    : `the only lost response${tooLate === 1 ? ' came' : 's came'} less than ${LOST_RETRY_WINDOW_MS / 1000} s before the run ended, too late to judge a retry`
  out.push(lost.length === 0 ? skip('idempotency/retry-reuses-key', 'A retry after a lost response reuses its key', noLost)
    : verdict('idempotency/retry-reuses-key', 'A retry after a lost response reuses its key', reuse, { lostResponses: lost.length, lostTooLateToJudge: tooLate }, `retried all ${lost.length} lost responses with the same key`))
  out.push(lost.length === 0 ? skip('idempotency/no-duplicates', 'No resource is created twice', noLost)
    : verdict('idempotency/no-duplicates', 'No resource is created twice', dupes, { lostResponses: lost.length, lostTooLateToJudge: tooLate }, 'no duplicate resource'))

  // Events processed once, from the client's consumer spans (messaging.message.id = event id). The
  // check needs an event the client really got twice (from the record's frames: a duplicate resume, or
  // a resume from an earlier id) and a consumer span for it: without both it could not have failed.
  const delivered = new Map<string, number>()
  for (const f of entriesOf(e, 'frame') as FrameEntry[]) {
    if (f.event === 'stream.gap') continue
    const id = String(f.id)
    delivered.set(id, (delivered.get(id) ?? 0) + 1)
  }
  const redelivered = [...delivered].filter(([, n]) => n > 1).map(([id]) => id)
  const consumer = e.spans.filter((s) => s.kind === 'consumer' && s.attributes['messaging.message.id'] !== undefined)
  const seen = new Map<string, number>()
  const unique = new Set<string>()
  for (const s of consumer) {
    const k = `${s.traceId}:${s.spanId}`
    if (unique.has(k)) continue // an exporter retry, not a second processing
    unique.add(k)
    const id = String(s.attributes['messaging.message.id'])
    seen.set(id, (seen.get(id) ?? 0) + 1)
  }
  const twice: Violation[] = [...seen].filter(([, n]) => n > 1).map(([id, n]) => ({ message: `event ${id} was processed ${n} times${delivered.has(id) ? ` (delivered ${delivered.get(id)} times)` : ''}`, eventId: id }))
  const covered = redelivered.filter((id) => seen.has(id))
  const ev = { consumerSpans: unique.size, distinctEvents: seen.size, eventsDeliveredTwice: redelivered.length, deliveredTwiceAndTraced: covered.length, sample: redelivered.slice(0, 5) }
  const title = 'No event id is processed twice'
  if (twice.length > 0) out.push(verdict('idempotency/events-once', title, twice, ev, ''))
  else if (redelivered.length === 0) out.push(skip('idempotency/events-once', title, delivered.size === 0 ? 'no event was delivered to the client' : `no event was delivered to the client more than once (${delivered.size} events, each sent once)`, ev))
  else if (consumer.length === 0) out.push(skip('idempotency/events-once', title, e.spans.length === 0 ? `${redelivered.length} events were delivered twice, but the client sent no traces` : `${redelivered.length} events were delivered twice, but the client sent no consumer spans with messaging.message.id`, ev))
  else if (covered.length === 0) out.push(skip('idempotency/events-once', title, `${redelivered.length} events were delivered twice (e.g. ${redelivered.slice(0, 3).join(', ')}), but no consumer span names any of them`, ev))
  else out.push(verdict('idempotency/events-once', title, [], ev, `${covered.length} events delivered twice were processed once (${seen.size} events traced, none twice)`))
  return out
}
