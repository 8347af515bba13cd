// What the resume faults of a connection do to where its stream starts (contract 4.4, 4.6, 7.2),
// decided once when the stream opens and the same for the Fastify route and the msw handlers:
// - sse-duplicate: start `count` events before the requested id, never across the edge of the
//   retained window, so it cannot turn into a false gap;
// - sse-gap: treat the events after the requested id as evicted (all up to the newest, or `count` of
//   them): the stream opens with `stream.gap` for them and continues after. With nothing published
//   since the id yet, the next event is the one lost, so the gap reaches the client whatever the
//   moment it resumed.
// The fault plan never gives one resume both (fault-plan.ts), so duplicates are really sent.
import type { EventWindow } from './event-log/types.ts'
import type { SseFaultDecision } from './fault-plan.ts'

export interface ResumePlan {
  /** Where the subscription starts (SubscribeOptions.after). */
  after: number | undefined
  /** Events up to this sequence are re-sent on purpose (0: none). */
  duplicateUpTo: number
  /** sse-gap: the range announced as lost when the stream opens. */
  gap: { from: number, to: number } | undefined
  /** sse-gap with nothing after the id yet: the next event is announced as lost instead of sent. */
  gapNext: boolean
}

export async function planResume (window: () => Promise<EventWindow>, resumeId: number | undefined, faults: SseFaultDecision | undefined): Promise<ResumePlan> {
  const plan: ResumePlan = { after: resumeId, duplicateUpTo: 0, gap: undefined, gapNext: false }
  if (faults === undefined || resumeId === undefined || (faults.duplicate === 0 && faults.gap === undefined)) return plan
  const w = await window()
  if (faults.duplicate > 0) {
    const upTo = Math.min(resumeId, w.lastSeq)
    if (resumeId + 1 >= w.firstSeq && upTo >= w.firstSeq) {
      plan.after = Math.max(upTo - faults.duplicate, w.firstSeq - 1)
      plan.duplicateUpTo = upTo
    }
  } else if (faults.gap !== undefined) {
    // An id beyond the newest is served "live from now" (4.4): the next event is the one lost.
    const from = resumeId + 1
    const to = faults.gap.count === undefined ? w.lastSeq : Math.min(resumeId + faults.gap.count, w.lastSeq)
    if (to >= from) {
      plan.gap = { from, to }
      plan.after = to
    } else {
      plan.gapNext = true
    }
  }
  return plan
}
