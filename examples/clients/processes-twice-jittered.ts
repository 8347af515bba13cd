// Reconnects with up to 2 s of jitter (a good habit) and processes an event again when a resumed
// stream repeats it (a bad one). Under every profile the duplicates reach it whatever its timing, so
// idempotency/events-once must fail.
//   tenzro-harness verify -- node examples/clients/processes-twice-jittered.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('processes-twice-jittered', { dedupesEvents: false, reconnectJitterMs: 2000 })
