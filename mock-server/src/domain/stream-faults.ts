// What the SSE faults decided when a stream opened (contract 7.2) do to each event it carries: hold it
// back for a stall, cut the connection at it, or let it through. The writer (sse/stream.ts) carries
// out the answer; the decision is the domain's, so it can be read and tested apart from the frames.
import type { SseFaultDecision } from './fault-plan.ts'

export type EventFaultAction = 'send' | 'stall' | 'drop'

/**
 * For the next event of a stream that has written `sent` events: a stall starts once, at its
 * `afterEvents`; a drop fires when armed by its timer, from its `afterEvents` on, or by its per-event
 * probability (drawn from the fault's seeded random, only when no stall takes the event).
 */
export function eventFaultAction (f: SseFaultDecision, sent: number, stallDone: boolean, dropArmed: boolean): EventFaultAction {
  const stall = f.stall
  if (stall !== undefined && !stallDone && sent === stall.afterEvents) return 'stall'
  const drop = f.drop
  if (drop !== undefined && (dropArmed ||
      (drop.afterEvents !== undefined && sent >= drop.afterEvents) ||
      (drop.eventProbability > 0 && drop.random() < drop.eventProbability))) return 'drop'
  return 'send'
}
