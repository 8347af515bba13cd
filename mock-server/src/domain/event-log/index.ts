// The event log factory: picks the backend from config.events.backend ('memory' or a nats:// URL).
import { createMemoryEventLog } from './memory.ts'
import { createNatsEventLog } from './nats.ts'
import type { EventLog } from './types.ts'

export type { EventLog, EventSink, EventWindow, StoredEvent, SubscribeOptions, Subscription, EventLogStats } from './types.ts'
export { EVENT_SUBJECTS } from './types.ts'
export { createMemoryEventLog } from './memory.ts'
export { createNatsEventLog } from './nats.ts'

export interface EventLogDeps {
  now?: () => number
  /** Reserved for backends that need randomness; the logs themselves are deterministic. */
  seed?: number
}

/** The part of the mock's `events` config that picks and sizes the log. */
export interface EventLogConfig {
  /** 'memory', or a nats:// URL. */
  backend: string
  capacity: number
}

export async function createEventLog (events: EventLogConfig, { now = Date.now }: EventLogDeps = {}): Promise<EventLog> {
  if (events.backend === 'memory') return createMemoryEventLog({ capacity: events.capacity, now })
  if (events.backend.startsWith('nats://')) return await createNatsEventLog({ url: events.backend, capacity: events.capacity, now })
  throw new TypeError(`events.backend must be "memory" or a nats:// URL, not ${JSON.stringify(events.backend)}`)
}
