// Sends X-Idempotency-Key, but a new one on every attempt: the retry after a lost response is a
// new request to the server and creates a second wallet (contract 6.1).
//   tenzro-harness verify --profile quick -- node examples/clients/new-idempotency-key-per-retry.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('new-idempotency-key-per-retry', { idempotencyKey: 'per-attempt' })
