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

export interface EventLog {
  /** Publish one event for a tenant; resolves once it is stored and has its sequence. */
  publish (tenantId: string, subject: string, data: unknown): Promise<StoredEvent>
  /** Closes connections and timers. */
  close (): Promise<void>
}
