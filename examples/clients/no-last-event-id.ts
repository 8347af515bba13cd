// Reconnects the event stream without Last-Event-ID: it resumes "live from now" and silently
// loses every event published while it was away (contract 4.2, 4.4).
//   tenzro-harness verify --profile quick -- node examples/clients/no-last-event-id.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('no-last-event-id', { sendsLastEventId: false })
