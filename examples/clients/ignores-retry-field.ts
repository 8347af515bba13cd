// Reconnects after a fixed 1 s, the contract's default, and ignores the server's `retry:` when it
// asks for longer (contract 4.3).
//   tenzro-harness verify --profile quick -- node examples/clients/ignores-retry-field.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('ignores-retry-field', { reconnect: 1000 })
