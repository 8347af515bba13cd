// Correct but slow to process: each event takes 100 ms, handled inline, so the stream is read only
// as fast as the client works through it and a replay queues up in its socket. It must pass.
//   tenzro-harness verify -- node examples/clients/slow-consumer.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('slow-consumer', { eventProcessingMs: 100 })
