// Retries a 500 at once, again and again up to its cap: a hot loop against a server in trouble.
//   tenzro-harness verify --profile quick -- node examples/clients/no-backoff.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('no-backoff', { backoff: 'none' })
