// Creates wallets without X-Idempotency-Key and retries a create whose response was lost: the
// retry creates a second wallet (contract 6.1, 6.2).
//   tenzro-harness verify --profile quick -- node examples/clients/no-idempotency-key.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('no-idempotency-key', { idempotencyKey: 'none' })
