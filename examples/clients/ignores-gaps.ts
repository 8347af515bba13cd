// Carries on after `event: stream.gap` as if nothing was lost (contract 4.4 says resynchronise).
// It does not poll the wallet list either: a client that re-lists every 200 ms is resynchronised
// whether it means to be or not, and the harness could not tell.
//   tenzro-harness verify --profile quick -- node examples/clients/ignores-gaps.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('ignores-gaps', { resyncOnGap: false, parts: { list: false, create: true, events: true } })
