// Retries a failing request without a cap: a persistent outage turns into endless load.
//   tenzro-harness verify --profile quick -- node examples/clients/retries-forever.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('retries-forever', { maxRetries: Number.POSITIVE_INFINITY })
