// Handles every event it receives, including the ones a resumed stream sends again: at-least-once
// delivery (contract 4.6) becomes double processing.
//   tenzro-harness verify --profile quick -- node examples/clients/processes-events-twice.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('processes-events-twice', { dedupesEvents: false })
