// Fault coverage: for each fault of the plan, how often it was planned, how often the mock's plan
// matched it (its `applied` counter, contract 7.4 GET /__harness/faults) and how often its effect
// reached the client under test, read from the record (contract 7.3). A fault can match and still
// not reach the client (a duplicate resume with nothing to repeat, a drop on a stream the client had
// already left): only `delivered` says the client met it.
import type { FaultSpec, FaultType } from '../../mock-server/src/domain/fault-plan.ts'
import type { AnyEntry, DropEntry, FaultEntry, FrameEntry, RequestEntry, StreamEntry } from './evidence.ts'

export interface FaultCoverage {
  id: string
  type: FaultType
  /** `times` of the fault; null when unlimited (every match, e.g. a latency with a probability). */
  planned: number | null
  /** Times the plan applied it to a request or connection of this client. */
  matched: number
  /** Times its effect reached the client (a response, a frame, a cut), from the record. */
  delivered: number
}

export interface FaultStats { id: string, type: string, seen: number, applied: number }

const labelsOf = (x: unknown): string[] => Array.isArray(x) ? x.map(String) : []

/** The label the mock gives a fault (fault-plan.ts): its id, else `type#index`. */
export function faultLabel (f: FaultSpec, index: number): string {
  return f.id ?? `${f.type}#${index}`
}

export function faultCoverage (faults: readonly FaultSpec[], stats: readonly FaultStats[], record: readonly AnyEntry[], keyIds: readonly string[]): FaultCoverage[] {
  const keys = new Set(keyIds)
  const mine = record.filter((e) => !('keyId' in e) || keys.has(String(e.keyId)))
  const streamLabels = new Map<string, string[]>()
  for (const e of mine) if (e.type === 'stream' && (e as StreamEntry).phase === 'open') streamLabels.set((e as StreamEntry).streamId, labelsOf((e as Record<string, unknown>).faults))
  const duplicateFrames = new Set<string>()
  const gapFrames = new Set<string>()
  for (const e of mine) {
    if (e.type !== 'frame') continue
    const f = e as FrameEntry
    if (f.duplicate === true) duplicateFrames.add(f.streamId)
    if (f.event === 'stream.gap') gapFrames.add(f.streamId)
  }
  const applied = new Map(stats.map((s) => [s.id, s.applied]))

  return faults.map((f, i) => {
    const id = faultLabel(f, i)
    let delivered = 0
    for (const e of mine) {
      const x = e as Record<string, unknown>
      switch (f.type) {
        case 'latency': case 'slow-body':
          if (e.type === 'request' && labelsOf(x.faults).includes(id)) delivered++
          break
        case 'error':
          if (e.type === 'request' && labelsOf(x.faults).includes(id) && (e as RequestEntry).status === (f.status ?? 500)) delivered++
          break
        case 'rate-limit-burst':
          if (e.type === 'request' && labelsOf(x.faults).includes(id) && (e as RequestEntry).status === 429) delivered++
          break
        case 'lost-response':
          if (e.type === 'request' && labelsOf(x.faults).includes(id) && (e as RequestEntry).lostResponse) delivered++
          break
        case 'sse-drop':
          if (e.type === 'drop' && (e as DropEntry).reason === 'fault' && labelsOf(x.labels).includes(id)) delivered++
          break
        case 'sse-stall':
          if (e.type === 'fault' && (e as FaultEntry).fault === 'sse-stall' && (e as FaultEntry).phase === 'start' && streamLabels.get(String(x.streamId))?.includes(id) === true) delivered++
          break
        case 'sse-duplicate':
          if (e.type === 'fault' && (e as FaultEntry).fault === 'sse-duplicate' && labelsOf(x.labels).includes(id) && duplicateFrames.has(String(x.streamId))) delivered++
          break
        case 'sse-gap':
          if (e.type === 'fault' && (e as FaultEntry).fault === 'sse-gap' && labelsOf(x.labels).includes(id) && gapFrames.has(String(x.streamId))) delivered++
          break
        case 'sse-reject': case 'sse-retry':
          if (e.type === 'fault' && (e as FaultEntry).fault === f.type && labelsOf(x.labels).includes(id)) delivered++
          break
        case 'over-admit':
          // The limiter's own answers carry it: every admitted request over the limit.
          if (e.type === 'request' && labelsOf(x.faults).includes(id)) delivered++
          break
      }
    }
    return { id, type: f.type, planned: f.times ?? null, matched: applied.get(id) ?? 0, delivered }
  })
}

/** The faults that never reached the client. */
export function undelivered (c: readonly FaultCoverage[]): FaultCoverage[] {
  return c.filter((f) => f.delivered === 0)
}
