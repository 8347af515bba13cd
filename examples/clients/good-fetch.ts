// The good client without the reference client: plain fetch and its own SSE reader, every
// knob of lib/naive.ts at its good default. It must pass every check, like good.ts: the checks
// judge behaviour, not the library.
//   tenzro-harness verify --profile quick -- node examples/clients/good-fetch.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('good-fetch', {})
