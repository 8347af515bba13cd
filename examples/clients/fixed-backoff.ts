// Waits a fixed 200 ms between retries: the wait never grows, and every client retries in step.
//   tenzro-harness verify --profile quick -- node examples/clients/fixed-backoff.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('fixed-backoff', { backoff: 'fixed' })
