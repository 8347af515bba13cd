// Key rotation verdicts (seed: "Rotate keys regularly"; contract 2.5): after the harness writes a new
// key to TENZRO_API_KEY_FILE and revokes the old one a grace period later, the client works with the
// new key within the grace period, without a storm of 401s and without losing events; and once it
// has switched, the old key never comes back.
import { entriesOf, requestsOf, startOf, type Evidence, type StreamEntry } from '../evidence.ts'
import { skip, verdict, type CheckResult, type Violation } from './types.ts'
import { DRILL_CATALOG } from './drill-catalog.ts'

/** 401s tolerated after the revocation: one per concurrent loop that learns of it (list, create, stream) and then some. */
export const ROTATION_MAX_401 = 5

const SURVIVES = 'auth/survives-rotation'
const SURVIVES_TITLE = DRILL_CATALOG[SURVIVES].title
const RETIRED = 'auth/old-key-retired'
const RETIRED_TITLE = DRILL_CATALOG[RETIRED].title

export function checkRotation (e: Evidence): CheckResult[] {
  const r = e.setup.drills?.rotation
  if (r === undefined) {
    const why = e.setup.drills === undefined ? 'the profile does not rotate the key' : 'the run ended before the harness issued the new key'
    return [skip(SURVIVES, SURVIVES_TITLE, why, { requires: 'a key rotation' }), skip(RETIRED, RETIRED_TITLE, why, { requires: 'a key rotation' })]
  }
  const reqs = requestsOf(e)
  const fresh = reqs.filter((x) => x.keyId === r.newKeyId)
  const firstNew = fresh[0]
  const switchAt = firstNew === undefined ? undefined : startOf(firstNew)
  const base = { oldKeyId: r.oldKeyId, newKeyId: r.newKeyId, rotatedAtMs: r.rotatedAtMs, revokedAtMs: r.revokedAtMs ?? null, graceMs: r.graceMs, firstNewKeyRequestAtMs: switchAt ?? null }

  let survives: CheckResult
  const revokedAt = r.revokedAtMs
  if (revokedAt === undefined) {
    survives = skip(SURVIVES, SURVIVES_TITLE, 'the run ended before the old key was revoked', { ...base, requires: 'the old key revoked' })
  } else if (!reqs.some((x) => startOf(x) >= revokedAt)) {
    survives = skip(SURVIVES, SURVIVES_TITLE, 'the client made no request after the old key was revoked', { ...base, requires: 'a request after the revocation' })
  } else {
    const v: Violation[] = []
    const deadline = revokedAt + r.graceMs
    const firstOk = fresh.find((x) => x.status < 400)
    if (firstOk === undefined) v.push({ message: `no request with the new key ${r.newKeyId} succeeded: the client never picked up TENZRO_API_KEY_FILE`, at: deadline })
    else if (firstOk.ts > deadline) v.push({ message: `the first success with the new key came ${((firstOk.ts - revokedAt) / 1000).toFixed(1)} s after the revocation, beyond the ${r.graceMs / 1000} s grace period`, at: firstOk.ts, requestId: firstOk.requestId })
    const refused = reqs.filter((x) => x.status === 401 && startOf(x) >= revokedAt)
    if (refused.length > ROTATION_MAX_401) v.push({ message: `${refused.length} requests refused with 401 after the revocation (at most ${ROTATION_MAX_401}): a 401 storm instead of a switch`, at: refused[0]!.ts, requestId: refused[0]!.requestId })
    // Events: the old key's streams delivered up to some id; the first stream on the new key must
    // resume from it (Last-Event-ID), and must not be told of a gap.
    const streams = entriesOf(e, 'stream').filter((s): s is StreamEntry => s.phase === 'open')
    const oldStreams = new Set(streams.filter((s) => s.keyId === r.oldKeyId).map((s) => s.streamId))
    const frames = entriesOf(e, 'frame')
    const lastOld = frames.filter((f) => oldStreams.has(f.streamId) && f.event !== 'stream.gap').reduce<number | undefined>((m, f) => Math.max(m ?? 0, f.id), undefined)
    const firstNewStream = streams.find((s) => s.keyId === r.newKeyId)
    if (lastOld !== undefined) {
      if (firstNewStream === undefined) v.push({ message: `the client consumed the stream with the old key (up to event ${lastOld}) but never opened it with the new key` })
      else if (firstNewStream.lastEventId === null || firstNewStream.lastEventId === undefined) v.push({ message: `the first stream with the new key was opened without Last-Event-ID after event ${lastOld}: the events published in between are lost`, at: firstNewStream.ts, requestId: firstNewStream.requestId })
      const newStreams = new Set(streams.filter((s) => s.keyId === r.newKeyId).map((s) => s.streamId))
      const gap = frames.find((f) => newStreams.has(f.streamId) && f.event === 'stream.gap')
      if (gap !== undefined) v.push({ message: `the mock sent a stream.gap (events ${gap.from ?? '?'}..${gap.to ?? '?'} lost) on the new key's stream`, at: gap.ts })
    }
    survives = verdict(SURVIVES, SURVIVES_TITLE, v, { ...base, refusedAfterRevocation: refused.length, maxRefused: ROTATION_MAX_401, lastEventOnOldKey: lastOld ?? null, firstNewStreamLastEventId: firstNewStream?.lastEventId ?? null },
      `switched to the new key ${firstOk === undefined ? '' : firstOk.ts <= revokedAt ? `${((revokedAt - firstOk.ts) / 1000).toFixed(1)} s before the revocation ` : `${((firstOk.ts - revokedAt) / 1000).toFixed(1)} s after the revocation `}with ${refused.length} 401s${lastOld === undefined ? '' : ` and the stream resumed from event ${String(firstNewStream?.lastEventId)}`}`)
  }

  let retired: CheckResult
  if (switchAt === undefined) {
    retired = skip(RETIRED, RETIRED_TITLE, 'the client never used the new key', { ...base, requires: 'a request with the new key' })
  } else {
    const stale = reqs.filter((x) => x.keyId === r.oldKeyId && startOf(x) > switchAt)
    const v: Violation[] = stale.length === 0 ? [] : [{ message: `${stale.length} request(s) with the old key after the switch at ${new Date(switchAt).toISOString()}, the first ${stale[0]!.method} ${stale[0]!.path}`, at: startOf(stale[0]!), requestId: stale[0]!.requestId }]
    retired = verdict(RETIRED, RETIRED_TITLE, v, { ...base, oldKeyRequestsAfterSwitch: stale.length }, `no request with the old key after the switch (${fresh.length} with the new one)`)
  }
  return [survives, retired]
}
