// Incident drill verdicts (seed: "Incident Response": rotate all keys at once; contract 2.5): after
// every key of the tenant is revoked in one step, every open stream of the tenant closes within one
// heartbeat, no request or event gets through afterwards, and the client stops cleanly instead of
// knocking on with dead keys.
import { requestsOf, startOf, type Evidence, type FrameEntry, type RequestEntry, type StreamEntry } from '../evidence.ts'
import { skip, verdict, type CheckResult, type Violation } from './types.ts'
import { DRILL_CATALOG, INCIDENT_MAX_AFTER_REFUSAL } from './drill-catalog.ts'

/** Requests a client may still send after its first refusal following the revocation. */
export { INCIDENT_MAX_AFTER_REFUSAL }

const CLOSED = 'incident/streams-closed'
const CLOSED_TITLE = DRILL_CATALOG[CLOSED].title
const NOTHING = 'incident/nothing-after-revocation'
const NOTHING_TITLE = DRILL_CATALOG[NOTHING].title
const STOPS = 'incident/client-stops'
const STOPS_TITLE = DRILL_CATALOG[STOPS].title

export function checkIncident (e: Evidence): CheckResult[] {
  const inc = e.setup.drills?.incident
  if (inc === undefined) {
    const why = e.setup.drills === undefined ? 'the profile has no incident' : 'the run ended before the keys were revoked'
    return [CLOSED, NOTHING, STOPS].map((id, i) => skip(id, [CLOSED_TITLE, NOTHING_TITLE, STOPS_TITLE][i]!, why, { requires: 'every key of the tenant revoked' }))
  }
  const at = inc.revokedAtMs
  const keys = new Set(inc.keyIds)
  const base = { revokedAtMs: at, keysRevoked: inc.keyIds.length, heartbeatMs: inc.heartbeatMs }
  const tenantEntries = e.record.filter((x) => 'keyId' in x && keys.has(x.keyId as string))

  // Streams of any of the tenant's keys (the client's and the sentinels') open at the revocation.
  const life = new Map<string, { open: number, close?: number, keyId: string, requestId: string }>()
  for (const s of tenantEntries) {
    if (s.type !== 'stream') continue
    const st = s as StreamEntry
    if (st.phase === 'open') life.set(st.streamId, { open: st.ts, keyId: st.keyId, requestId: st.requestId })
    else { const l = life.get(st.streamId); if (l !== undefined) l.close = st.ts }
  }
  const openAt = [...life.entries()].filter(([, l]) => l.open <= at && (l.close === undefined || l.close >= at))
  let closed: CheckResult
  if (openAt.length === 0) closed = skip(CLOSED, CLOSED_TITLE, 'no stream of the tenant was open at the revocation', { ...base, requires: 'a stream open at the revocation' })
  else {
    const v: Violation[] = []
    let worst = 0
    for (const [id, l] of openAt) {
      if (l.close === undefined) { v.push({ message: `stream ${id} (key ${l.keyId}) was still open at the end of the run`, requestId: l.requestId }); continue }
      worst = Math.max(worst, l.close - at)
      if (l.close - at > inc.heartbeatMs) v.push({ message: `stream ${id} (key ${l.keyId}) closed ${l.close - at} ms after the revocation, beyond one heartbeat (${inc.heartbeatMs} ms)`, at: l.close, requestId: l.requestId })
    }
    closed = verdict(CLOSED, CLOSED_TITLE, v, { ...base, streamsOpen: openAt.length, slowestCloseMs: worst }, `${openAt.length} streams open at the revocation, all closed within ${worst} ms`)
  }

  const after = tenantEntries.filter((x) => (x.type === 'request' && startOf(x as RequestEntry) > at) || (x.type === 'frame' && x.ts > at))
  let nothing: CheckResult
  if (after.length === 0) nothing = skip(NOTHING, NOTHING_TITLE, 'nothing came with the tenant\'s keys after the revocation', { ...base, requires: 'a request after the revocation' })
  else {
    const ok = after.filter((x): x is RequestEntry => x.type === 'request' && (x as RequestEntry).status < 400)
    const frames = after.filter((x): x is FrameEntry => x.type === 'frame')
    const v: Violation[] = []
    if (ok.length > 0) v.push({ message: `${ok.length} request(s) succeeded after the revocation, the first ${ok[0]!.method} ${ok[0]!.path} with ${ok[0]!.keyId ?? '?'} (${ok[0]!.status})`, at: startOf(ok[0]!), requestId: ok[0]!.requestId })
    if (frames.length > 0) v.push({ message: `${frames.length} event(s) sent after the revocation, the first ${frames[0]!.id} on stream ${frames[0]!.streamId}`, at: frames[0]!.ts })
    nothing = verdict(NOTHING, NOTHING_TITLE, v, { ...base, requestsAfter: after.filter((x) => x.type === 'request').length, framesAfter: frames.length }, `${after.length} attempt(s) after the revocation, every one refused`)
  }

  const mine = requestsOf(e)
  const streamsOfClient = [...life.values()].filter((l) => e.keyIds.includes(l.keyId))
  const active = mine.some((r) => startOf(r) <= at && startOf(r) > at - 5000) || streamsOfClient.some((l) => l.open <= at && (l.close === undefined || l.close >= at))
  let stops: CheckResult
  if (!active) stops = skip(STOPS, STOPS_TITLE, 'the client was not active when the keys were revoked', { ...base, requires: 'client activity at the revocation' })
  else {
    const firstRefusal = mine.find((r) => startOf(r) >= at && (r.status === 401 || r.status === 403))
    const since = firstRefusal === undefined ? [] : mine.filter((r) => startOf(r) > startOf(firstRefusal))
    const v: Violation[] = since.length > INCIDENT_MAX_AFTER_REFUSAL
      ? [{ message: `${since.length} requests after its first refusal (${firstRefusal!.code ?? firstRefusal!.status}), the last ${((startOf(since[since.length - 1]!) - at) / 1000).toFixed(1)} s after the revocation: it does not stop`, at: startOf(since[0]!), requestId: since[0]!.requestId }]
      : []
    stops = verdict(STOPS, STOPS_TITLE, v, { ...base, requestsAfterFirstRefusal: since.length, limit: INCIDENT_MAX_AFTER_REFUSAL },
      firstRefusal === undefined ? 'the client sent nothing after the revocation closed its streams' : `${since.length} requests after its first refusal`)
  }
  return [closed, nothing, stops]
}
