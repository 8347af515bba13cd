// Waits forever on a stream that went silent: no heartbeat timeout, so a stalled connection
// (heartbeats stop, contract 4.3) is never noticed and no event arrives again.
//   tenzro-harness verify --profile quick -- node examples/clients/no-stall-detection.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('no-stall-detection', { stallTimeoutMs: null })
