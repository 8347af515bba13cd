// Reconnection verdicts (seed: "Handle reconnection with last-event-id"; contract 4.3, 4.4, 7.2):
// after a drop the client comes back, not before `retry:` and not in a hot loop, resuming from the
// last complete event; a silent stream is noticed; a gap is followed by a resync.
import { entriesOf, requestsOf, startOf, type DropEntry, type Evidence, type FaultEntry, type FrameEntry, type StreamEntry } from '../evidence.ts'
import { skip, verdict, type CheckResult, type Violation } from './types.ts'

export const STREAM_ROUTE = '/api/events/stream'
export const MAX_STREAM_ATTEMPTS_PER_S = 5
/** How soon after a gap a resync (a wallet list) must follow. */
export const RESYNC_WITHIN_MS = 10_000

export function checkReconnection (e: Evidence): CheckResult[] {
  const streamReqs = requestsOf(e).filter((r) => r.route === STREAM_ROUTE).sort((a, b) => startOf(a) - startOf(b))
  const opens = entriesOf(e, 'stream').filter((s): s is StreamEntry => (s as StreamEntry).phase === 'open').sort((a, b) => a.ts - b.ts)
  const closes = entriesOf(e, 'stream').filter((s): s is StreamEntry => (s as StreamEntry).phase === 'close')
  const drops = entriesOf(e, 'drop').filter((d): d is DropEntry => (d as DropEntry).reason === 'fault')
  const out: CheckResult[] = []
  if (streamReqs.length === 0) {
    const why = 'the client opened no event stream'
    return ['comes-back', 'respects-retry', 'last-event-id', 'no-hot-loop', 'stall-detected', 'gap-resync']
      .map((id) => skip(`reconnection/${id}`, TITLES[id]!, why))
  }
  const tol = e.setup.toleranceMs
  const retryOf = new Map(opens.map((o) => [o.streamId, o.retryMs ?? e.setup.retryMs]))
  // Nothing reconnects once the key is revoked, and nothing should while the server has asked the
  // key to wait (a spent quota until X-RateLimit-Reset, a 429's Retry-After, contract 5.2, 5.3). A
  // drop or a stall whose reconnect would fall past that horizon is judged only if the client came back.
  const horizon = Math.min(e.setup.endMs, e.setup.revokedAtMs ?? Number.POSITIVE_INFINITY)
  const answers = requestsOf(e)
  const dueBy = (keyId: string | null, nominal: number): number => {
    let due = nominal
    for (const r of answers) {
      if (r.keyId !== keyId || r.ts > nominal) continue
      if (r.rateLimit !== null && r.rateLimit.remaining === 0) due = Math.max(due, r.rateLimit.resetAtMs + 1000)
      const ra = r.status === 429 ? (r.retryAfterS ?? r.rateLimit?.retryAfterS ?? 0) : 0
      if (ra > 0) due = Math.max(due, r.ts + ra * 1000 + 1000)
    }
    return due
  }

  const back: Violation[] = []
  const early: Violation[] = []
  const wrongId: Violation[] = []
  let judged = 0
  let withId = 0
  for (const d of drops) {
    const retryMs = retryOf.get(d.streamId) ?? e.setup.retryMs
    const attempt = streamReqs.find((r) => r.keyId === d.keyId && r.requestId !== d.requestId && startOf(r) >= d.ts)
    const reopened = opens.find((o) => o.keyId === d.keyId && o.ts > d.ts)
    // A drop too close to the end (or the revocation) is judged only if the client already came back.
    if ((attempt === undefined || reopened === undefined) && dueBy(d.keyId, d.ts + retryMs + 5000) > horizon) continue
    judged++
    if (attempt === undefined || reopened === undefined) {
      back.push({ message: `stream ${d.streamId} was dropped at ${new Date(d.ts).toISOString()} and the client never came back`, at: d.ts })
      continue
    }
    if (startOf(attempt) < d.ts + retryMs - tol) {
      early.push({ message: `reconnected ${Math.round(startOf(attempt) - d.ts)} ms after a drop; retry: was ${retryMs} ms`, at: startOf(attempt), requestId: attempt.requestId, retryMs })
    }
    // Contract 4.4: resuming after the last complete event loses nothing. An earlier id is safe too
    // (events still in the client's buffer when the connection broke were not handled yet; the server
    // sends them again), but a later one (the id of a frame whose blank line never came) skips an
    // event, and no id at all resumes "live from now" and loses everything in between.
    const got = reopened.lastEventId ?? null
    if (d.lastId !== null) withId++
    if (d.lastId !== null && (got === null || got > d.lastId)) {
      wrongId.push({ message: got === null ? `resumed without Last-Event-ID after a drop whose last complete event was ${d.lastId}` : `resumed with Last-Event-ID ${got} after a drop whose last complete event was ${d.lastId}: events after ${d.lastId} up to ${got} were never received whole`, at: reopened.ts, requestId: reopened.requestId, expected: d.lastId, got })
    }
  }
  const noDrops = 'no stream was dropped early enough to judge'
  out.push(judged === 0 ? skip('reconnection/comes-back', TITLES['comes-back']!, noDrops) : verdict('reconnection/comes-back', TITLES['comes-back']!, back, { drops: judged }, `came back after all ${judged} drops`))
  out.push(judged === 0 ? skip('reconnection/respects-retry', TITLES['respects-retry']!, noDrops) : verdict('reconnection/respects-retry', TITLES['respects-retry']!, early, { drops: judged, toleranceMs: tol }, `every reconnect waited at least retry: (tolerance ${tol} ms)`))
  out.push(judged === 0 ? skip('reconnection/last-event-id', TITLES['last-event-id']!, noDrops)
    : withId === 0 ? skip('reconnection/last-event-id', TITLES['last-event-id']!, `none of the ${judged} drops came after a complete event: there was no id to resume from`, { drops: judged })
      : verdict('reconnection/last-event-id', TITLES['last-event-id']!, wrongId, { drops: judged, dropsAfterAnEvent: withId }, `every resume carried a Last-Event-ID no later than the last complete event`))

  // Hot loop: stream attempts (accepted or refused) per second.
  const hot: Violation[] = []
  let worst = 0
  for (let i = 0, j = 0; i < streamReqs.length; i++) {
    while (startOf(streamReqs[i]!) - startOf(streamReqs[j]!) > 1000) j++
    const n = i - j + 1
    if (n > worst) worst = n
    if (n === MAX_STREAM_ATTEMPTS_PER_S + 1) hot.push({ message: `${n} stream connection attempts within 1 s`, at: startOf(streamReqs[i]!), requestId: streamReqs[i]!.requestId })
  }
  // Exercised once the client had to reconnect: the server ended a stream (any reason), a stream
  // stalled, or a connection attempt was refused.
  const ended = entriesOf(e, 'drop').length + entriesOf(e, 'fault').filter((f) => (f as FaultEntry).fault === 'sse-stall' || (f as FaultEntry).fault === 'sse-reject').length +
    streamReqs.filter((r) => r.status !== 200).length
  out.push(ended === 0 && hot.length === 0
    ? skip('reconnection/no-hot-loop', TITLES['no-hot-loop']!, 'no stream was ended, stalled or refused by the server: the client never had to reconnect', { attempts: streamReqs.length })
    : verdict('reconnection/no-hot-loop', TITLES['no-hot-loop']!, hot, { attempts: streamReqs.length, maxAttemptsPer1s: worst, limitPer1s: MAX_STREAM_ATTEMPTS_PER_S }, `${streamReqs.length} stream attempts, at most ${worst} in any second`))

  // Stalls: the client closes the silent stream within stallDetectMs and tries again. A retry the
  // server refuses (the key was revoked meanwhile) still shows the client noticed.
  const stalls = entriesOf(e, 'fault').filter((f): f is FaultEntry => (f as FaultEntry).fault === 'sse-stall' && (f as FaultEntry).phase === 'start')
  const missed: Violation[] = []
  let stallJudged = 0
  for (const s of stalls) {
    const closed = closes.find((c) => c.streamId === s.streamId && c.reason === 'client')
    const retried = closed === undefined ? undefined : streamReqs.find((r) => r.keyId === s.keyId && startOf(r) >= closed.ts - tol)
    // Not closed: judged once the allowance has run out before the horizon. Closed in time but not
    // retried: judged once the retry was due before it.
    if (closed === undefined && s.ts + e.setup.stallDetectMs + 2000 > horizon) continue
    if (closed !== undefined && closed.ts - s.ts <= e.setup.stallDetectMs && retried === undefined && dueBy(s.keyId ?? null, closed.ts + e.setup.retryMs + 5000) > horizon) continue
    stallJudged++
    if (closed === undefined || closed.ts - s.ts > e.setup.stallDetectMs || retried === undefined) {
      missed.push({ message: `stream ${s.streamId} went silent at ${new Date(s.ts).toISOString()} and the client ${closed === undefined ? 'never closed it' : `closed it after ${Math.round(closed.ts - s.ts)} ms`}${closed !== undefined && retried === undefined ? ' and did not reconnect' : ''} (allowed ${e.setup.stallDetectMs} ms)`, at: s.ts })
    }
  }
  out.push(stallJudged === 0 ? skip('reconnection/stall-detected', TITLES['stall-detected']!, 'no stall early enough to judge') : verdict('reconnection/stall-detected', TITLES['stall-detected']!, missed, { stalls: stallJudged, stallDetectMs: e.setup.stallDetectMs }, `noticed all ${stallJudged} stalls`))

  // Gaps: a stream.gap frame is followed by a resync (a wallet list).
  const gaps = entriesOf(e, 'frame').filter((f): f is FrameEntry => (f as FrameEntry).event === 'stream.gap')
  const lists = requestsOf(e).filter((r) => r.route === '/api/wallet/list')
  const noResync: Violation[] = []
  const within = e.setup.resyncWithinMs ?? RESYNC_WITHIN_MS
  let gapJudged = 0
  // A resync the server told to wait (a 429 on the key, a 503 on the list, a spent quota, contract
  // 5.2, 5.3) is due `within` after the wait ends, not after the gap.
  const listWaits = answers.map((r) => {
    const ra = r.status === 429 || (r.status === 503 && r.route === '/api/wallet/list') ? (r.retryAfterS ?? r.rateLimit?.retryAfterS ?? 0) : 0
    const until = Math.max(ra > 0 ? r.ts + ra * 1000 : 0, r.rateLimit !== null && r.rateLimit.remaining === 0 ? r.rateLimit.resetAtMs : 0)
    return { keyId: r.keyId, ts: r.ts, until }
  }).filter((w) => w.until > 0)
  const resyncDue = (keyId: string, from: number): number => {
    let due = from + within
    for (let changed = true; changed;) {
      changed = false
      for (const w of listWaits) {
        if (w.keyId !== keyId || w.ts > due || w.until + within <= due) continue
        due = w.until + within
        changed = true
      }
    }
    return due
  }
  for (const g of gaps) {
    const due = resyncDue(g.keyId, g.ts)
    const resynced = lists.some((l) => l.keyId === g.keyId && startOf(l) >= g.ts && startOf(l) <= due)
    // A gap too close to the end is judged only if the resync already happened.
    if (!resynced && due > e.setup.endMs) continue
    gapJudged++
    if (!resynced) {
      noResync.push({ message: `stream.gap ${g.from}-${g.to} at ${new Date(g.ts).toISOString()} was not followed by a resync (wallet list) within ${within / 1000} s${due > g.ts + within ? ` of the end of the server's Retry-After (${Math.round((due - g.ts) / 1000)} s in all)` : ''}`, at: g.ts })
    }
  }
  out.push(gapJudged === 0 ? skip('reconnection/gap-resync', TITLES['gap-resync']!, 'no stream.gap early enough to judge') : verdict('reconnection/gap-resync', TITLES['gap-resync']!, noResync, { gaps: gapJudged, resyncWithinMs: within }, `resynchronised after all ${gapJudged} gaps`))
  return out
}

const TITLES: Record<string, string> = {
  'comes-back': 'After each drop the client came back',
  'respects-retry': 'Reconnects wait at least the server\'s retry:',
  'last-event-id': 'Resumes with Last-Event-ID, never past the last complete event',
  'no-hot-loop': 'No hot loop of stream reconnects',
  'stall-detected': 'A silent (stalled) stream is detected',
  'gap-resync': 'A stream.gap is followed by a resync'
}
