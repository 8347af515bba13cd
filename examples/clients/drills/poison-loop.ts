// Retries a failed event by reconnecting from the last event it processed: the failing event comes
// again, fails again, forever (a poison loop). Fails input/no-poison-loop.
//   tenzro-harness verify --profile hostile -- node examples/clients/drills/poison-loop.ts
import { runDrillClient } from './lib/drill-client.ts'

await runDrillClient('poison-loop', { onBadEvent: 'retry-from-before' })
