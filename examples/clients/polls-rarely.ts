// Correct but quiet: lists wallets every 2 s (ten times less often than the other examples) and
// creates one every 3 s. Every fault of a profile must still reach it within the run: it must pass.
//   tenzro-harness verify -- node examples/clients/polls-rarely.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('polls-rarely', { listEveryMs: 2000, createEveryMs: 3000 })
