// Exponential backoff without jitter: the wait grows, but every client that failed together
// retries together (the thundering herd full jitter exists to break up).
//   tenzro-harness verify --profile quick -- node examples/clients/no-jitter.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('no-jitter', { backoff: 'exp' })
