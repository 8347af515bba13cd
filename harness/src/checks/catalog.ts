// Every check, its title and the condition it needs to be judged at all. A check whose condition
// did not occur for the client under test reports `skip` with the reason, never `pass`: a pass means
// the client met the situation and handled it.
import { DRILL_CATALOG } from './drill-catalog.ts'

export interface CheckDef {
  title: string
  /** What must have happened to this client for the verdict to mean something. */
  requires: string
}

export const CATALOG: Record<string, CheckDef> = {
  ...DRILL_CATALOG,
  'auth/key-in-header': { title: 'The key travels in a header, never in a URL or body', requires: 'the client made at least one request' },
  'auth/no-hot-loop-after-401': { title: 'No hot loop of requests after a 401', requires: 'a request of the client was refused with 401 (the harness revokes the key near the end)' },
  'throttling/retry-after': { title: 'No request before Retry-After elapsed', requires: 'a 429 or 503 with Retry-After was answered to the client' },
  'throttling/no-429-storm': { title: 'No 429 storm', requires: 'a 429 was answered to the client' },
  'throttling/backoff': { title: 'Backoff between retries of 5xx grows and is jittered', requires: 'the client retried a 5xx that carried no Retry-After' },
  'throttling/retry-cap': { title: 'Retries are capped', requires: 'a failure without Retry-After (a 5xx, or a 429 that did not say when to come back) outlasted the client\'s retries (it gave up on a failing request, or went past the cap)' },
  'reconnection/comes-back': { title: 'After each drop the client came back', requires: 'a stream of the client was dropped early enough to come back before the end' },
  'reconnection/respects-retry': { title: 'Reconnects wait at least the server\'s retry:', requires: 'a stream of the client was dropped early enough to come back before the end' },
  'reconnection/last-event-id': { title: 'Resumes with Last-Event-ID, never past the last complete event', requires: 'a stream of the client was dropped after it had sent at least one complete event' },
  'reconnection/no-hot-loop': { title: 'No hot loop of stream reconnects', requires: 'a stream of the client ended, stalled or was refused, so it had to reconnect' },
  'reconnection/stall-detected': { title: 'A silent (stalled) stream is detected', requires: 'a stream of the client stalled early enough for the allowance to run out before the end' },
  'reconnection/gap-resync': { title: 'A stream.gap is followed by a resync', requires: 'a stream.gap was sent to the client early enough to judge the resync' },
  'idempotency/keys-on-posts': { title: 'Every POST carries X-Idempotency-Key', requires: 'the client sent a POST' },
  'idempotency/retry-reuses-key': { title: 'A retry after a lost response reuses its key', requires: 'the response to a POST of the client was lost, and the client retried it or the run went on at least 5 s after' },
  'idempotency/no-duplicates': { title: 'No resource is created twice', requires: 'the response to a POST of the client was lost, and the client retried it or the run went on at least 5 s after' },
  'idempotency/events-once': { title: 'No event id is processed twice', requires: 'an event id was delivered to the client more than once, and its consumer spans (messaging.message.id) cover that event' },
  'secrets/no-leak': { title: 'The key never leaks (output, logs, files, spans, URLs, bodies)', requires: 'the client used its key (at least one request)' }
}

export function titleOf (id: string): string {
  return CATALOG[id]?.title ?? id
}
