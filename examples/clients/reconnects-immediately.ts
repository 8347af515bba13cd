// Reconnects the event stream the moment it drops, ignoring the server's `retry:` (contract 4.3).
//   tenzro-harness verify --profile quick -- node examples/clients/reconnects-immediately.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('reconnects-immediately', { reconnect: 0 })
