// Hostile input verdicts (seed: "Input Validation": validate addresses, check amounts, sanitise
// strings): after the harness makes the stream and the wallet list carry hostile payloads
// (docs/api.md 7.6), the client keeps working (no crash, no exit, no stall), and it never gets stuck
// on one event: failing on it, resuming from before it, failing again (a poison loop).
import { entriesOf, requestsOf, startOf, type Evidence, type StreamEntry } from '../evidence.ts'
import { skip, verdict, type CheckResult, type Violation } from './types.ts'
import { DRILL_CATALOG } from './drill-catalog.ts'
import { HOSTILE_STALL_MS, POISON_MAX_DELIVERIES } from './input-limits.ts'

export { HOSTILE_STALL_MS, POISON_MAX_DELIVERIES }

const LIST = 'GET /api/wallet/list'
const SURVIVES = 'input/survives-hostile'
const SURVIVES_TITLE = DRILL_CATALOG[SURVIVES].title
const POISON = 'input/no-poison-loop'
const POISON_TITLE = DRILL_CATALOG[POISON].title

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!
}

export function checkInput (e: Evidence): CheckResult[] {
  const h = e.setup.drills?.hostile
  if (h === undefined) {
    const why = e.setup.drills === undefined ? 'the profile injects no hostile payloads' : 'the run ended before the hostile payloads were injected'
    return [skip(SURVIVES, SURVIVES_TITLE, why, { requires: 'hostile payloads' }), skip(POISON, POISON_TITLE, why, { requires: 'hostile payloads' })]
  }
  const hostileIds = new Set(h.eventIds)
  const frames = entriesOf(e, 'frame')
  const hostileFrames = frames.filter((f) => hostileIds.has(f.id))
  const reqs = requestsOf(e)
  const lists = reqs.filter((r) => `${r.method} ${r.route ?? ''}` === LIST)
  const listsAfter = lists.filter((r) => r.status === 200 && startOf(r) >= h.atMs)
  const base = { injectedAtMs: h.atMs, hostileEvents: h.eventIds.length, hostileWallets: h.walletIds.length, hostileFramesDelivered: hostileFrames.length, listAnswersAfter: listsAfter.length }

  let survives: CheckResult
  if (hostileFrames.length === 0 && listsAfter.length === 0) {
    survives = skip(SURVIVES, SURVIVES_TITLE, 'no hostile payload reached the client: it neither consumed the stream nor listed wallets after the injection', { ...base, requires: 'a hostile event or wallet list delivered' })
  } else {
    const firstAt = Math.min(...hostileFrames.map((f) => f.ts), ...listsAfter.map((r) => r.ts))
    const client = e.setup.drills?.client
    const endAt = client?.exitedAtMs ?? e.setup.endMs
    const v: Violation[] = []
    if (client !== undefined && !client.stoppedByHarness) {
      v.push({ message: `the client exited on its own (${client.signal !== null ? `signal ${client.signal}` : `code ${String(client.exitCode)}`}) ${((client.exitedAtMs - firstAt) / 1000).toFixed(1)} s after the first hostile payload`, at: client.exitedAtMs })
    } else {
      if (hostileFrames.length > 0) {
        // Was it still consuming the stream at the end: a stream open until the stop, or one opened late?
        const opens = entriesOf(e, 'stream').filter((s): s is StreamEntry => s.type === 'stream')
        const byStream = new Map<string, { open?: number, close?: number }>()
        for (const s of opens) {
          const x = byStream.get(s.streamId) ?? {}
          if (s.phase === 'open') x.open = s.ts
          else x.close = s.ts
          byStream.set(s.streamId, x)
        }
        const consumingUntil = Math.max(...[...byStream.values()].map((x) => x.close ?? endAt))
        if (consumingUntil < endAt - HOSTILE_STALL_MS) v.push({ message: `stopped consuming the event stream ${((endAt - consumingUntil) / 1000).toFixed(1)} s before the end, after hostile events`, at: consumingUntil })
      }
      const before = lists.filter((r) => startOf(r) < h.atMs)
      if (before.length >= 2) {
        const gaps = before.slice(1).map((r, i) => startOf(r) - startOf(before[i]!))
        const slack = Math.max(HOSTILE_STALL_MS, 2 * median(gaps))
        const last = lists[lists.length - 1]!
        if (startOf(last) < endAt - slack) v.push({ message: `stopped listing wallets ${((endAt - startOf(last)) / 1000).toFixed(1)} s before the end (it listed every ${(median(gaps) / 1000).toFixed(1)} s before the hostile wallets)`, at: startOf(last), requestId: last.requestId })
      }
    }
    survives = verdict(SURVIVES, SURVIVES_TITLE, v, { ...base, firstHostileAtMs: firstAt },
      `kept working after ${hostileFrames.length} hostile events and ${listsAfter.length} lists carrying hostile wallets`)
  }

  let poison: CheckResult
  if (hostileFrames.length === 0) {
    poison = skip(POISON, POISON_TITLE, 'no hostile event reached the client\'s stream', { ...base, requires: 'a hostile event delivered on the stream' })
  } else {
    const count = new Map<number, number>()
    for (const f of frames) if (f.event !== 'stream.gap' && f.duplicate !== true) count.set(f.id, (count.get(f.id) ?? 0) + 1)
    const looping = [...count].filter(([, n]) => n > POISON_MAX_DELIVERIES).sort((a, b) => b[1] - a[1])
    const v: Violation[] = looping.map(([id, n]) => ({ message: `event ${id}${hostileIds.has(id) ? ' (hostile)' : ''} delivered ${n} times: the client resumes from before it after failing on it` }))
    const worst = Math.max(0, ...count.values())
    poison = verdict(POISON, POISON_TITLE, v, { ...base, maxDeliveriesOfOneEvent: worst, limit: POISON_MAX_DELIVERIES }, `every event delivered at most ${worst} time(s)`)
  }
  return [survives, poison]
}
