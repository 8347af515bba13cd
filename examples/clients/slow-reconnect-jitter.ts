// Correct but slow to come back: after every drop it waits the server's `retry:` plus a random
// 0-2 s, as EventSource libraries and backoff guides recommend. It must pass every check: faults
// reach it whatever its reconnect timing.
//   tenzro-harness verify -- node examples/clients/slow-reconnect-jitter.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('slow-reconnect-jitter', { reconnectJitterMs: 2000 })
