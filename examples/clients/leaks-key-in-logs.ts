// Logs its configuration at start, API key included: the classic leak (contract 1.5, 2.7).
//   tenzro-harness verify --profile quick -- node examples/clients/leaks-key-in-logs.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('leaks-key-in-logs', { logsKey: true })
