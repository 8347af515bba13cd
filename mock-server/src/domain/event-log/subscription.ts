// What both backends' subscriptions share: one cursor, live delivery that never repeats or skips it,
// and pause/resume for backpressure. A subscription is either replaying (the backend hands it
// retained events) or in its tenant's live set (publish hands it each new event).
import type { EventSink, StoredEvent, Subscription } from './types.ts'

export abstract class CursorSubscription implements Subscription {
  /** The last sequence handed to the sink. */
  cursor: number
  live = false
  paused = false
  closed = false
  readonly sink: EventSink
  readonly owner: Set<CursorSubscription>

  constructor (cursor: number, sink: EventSink, owner: Set<CursorSubscription>) {
    this.cursor = cursor
    this.sink = sink
    this.owner = owner
  }

  /** The tenant's live set this subscription joins once caught up. */
  protected abstract liveSet (): Set<CursorSubscription>
  /** Catch up again after a pause. */
  protected abstract restart (): void
  /** Backend resources to release on close. */
  protected abstract release (): void

  /** Called by the backend for a live subscription. */
  deliver (e: StoredEvent): void {
    // A subscription that went live during this very publish (a sink resumed another) already has it.
    if (e.seq <= this.cursor) return
    this.cursor = e.seq
    if (!this.sink.event(e) && !this.closed) this.pause()
  }

  /** Leave the live set; resume() catches up from the retained log, so nothing is buffered meanwhile. */
  pause (): void {
    if (this.paused || this.closed) return
    this.paused = true
    if (this.live) {
      this.live = false
      this.liveSet().delete(this)
    }
  }

  resume (): void {
    if (!this.paused || this.closed) return
    this.paused = false
    this.restart()
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.live = false
    this.liveSet().delete(this)
    this.owner.delete(this)
    this.release()
  }
}
