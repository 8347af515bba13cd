// The event log behind the SSE stream (contract 4). Two backends implement it: memory (default) and
// NATS JetStream. Sequence numbers are per tenant, strictly increasing, and are the SSE ids (4.3).

export interface StoredEvent {
  /** Tenant stream sequence = SSE id. */
  seq: number
  tenantId: string
  /** Subject, e.g. `wallet.created` (contract 4.5). */
  subject: string
  /** Epoch ms of publication. */
  publishedAtMs: number
  data: unknown
}

/** The retained part of one tenant's log. Empty when `firstSeq > lastSeq` (then `firstSeq === lastSeq + 1`). */
export interface EventWindow {
  firstSeq: number
  lastSeq: number
}

/**
 * Receives one subscription's events. One object per subscriber with methods, so the log hands events
 * over without building a closure per event.
 */
export interface EventSink {
  /**
   * The next event, in sequence order, each once. Return false to pause the subscription (like a
   * stream's write() returning false): the event counts as taken, and nothing more comes until
   * `resume()`.
   */
  event (e: StoredEvent): boolean
  /** Events `from..to` are no longer retained and will never come (contract 4.4). */
  gap (from: number, to: number): void
  /** Replay has caught up: from now on events come as they are published. */
  live (): void
  /** The backend failed this subscription; nothing more comes. */
  error (err: Error): void
}

export interface Subscription {
  /** The last sequence handed to the sink, or skipped over as a gap. */
  readonly cursor: number
  /** True once replay has caught up and events arrive as they are published. */
  readonly live: boolean
  /** Stop handing over events. A live subscription falls back to replay from the log on resume. */
  pause (): void
  resume (): void
  close (): void
}

export interface SubscribeOptions {
  /**
   * Deliver every retained event with sequence > after, then live events (contract 4.4). An `after`
   * older than the retained window first reports a gap; one beyond the newest, and `undefined`, mean
   * "live from now".
   */
  after: number | undefined
}

export interface EventLogStats {
  backend: 'memory' | 'nats'
  /** Events published through this instance. */
  published: number
  /** Events dropped from the memory window to stay within capacity (always 0 for NATS, whose stream limits drop them). */
  evicted: number
  /** Open subscriptions on this instance. */
  subscriptions: number
}

export interface EventLog {
  readonly backend: 'memory' | 'nats'
  /** Publish one event for a tenant; resolves once it is stored and has its sequence. */
  publish (tenantId: string, subject: string, data: unknown): Promise<StoredEvent>
  /**
   * Follow a tenant's events from `opts.after`. Resolves once the subscription is registered: every
   * event published after that is delivered, after the replayed ones, with no gap and no reordering.
   * Delivery starts after the promise resolves.
   */
  subscribe (tenantId: string, opts: SubscribeOptions, sink: EventSink): Promise<Subscription>
  /**
   * Where a stream opened now starts: the tenant's newest sequence, read from the store every instance
   * writes to. A caller that awaits it before telling the client the stream is open (the `retry:`
   * frame) and then subscribes with `after` set to it gets every event stored after that point,
   * whichever instance stored it (4.4). Backends whose subscribe() registers synchronously with the
   * only writer (memory) leave it out: there `after: undefined` is already exact.
   */
  position? (tenantId: string): Promise<number>
  /** The tenant's retained window. */
  window (tenantId: string): Promise<EventWindow>
  /**
   * Forget every retained event (the control API's reset, contract 7.4). Sequences keep counting, so an
   * id a client still holds is answered with a gap, never with a different event under the same id.
   */
  reset (): Promise<void>
  /** False when the backend cannot serve (NATS connection closed). */
  healthy (): boolean
  stats (): EventLogStats
  /** Closes connections and timers. */
  close (): Promise<void>
}

/** The subjects the mock publishes (contract 4.5). */
export const EVENT_SUBJECTS = [
  'wallet.created',
  'wallet.updated',
  'token.transfer.pending',
  'token.transfer.confirmed',
  'token.transfer.failed',
  'ledger.entry.created'
] as const
