// Sends the key in the query string as well as in X-API-Key: it ends up in proxy logs, browser
// history and traces (contract 1.2: headers only).
//   tenzro-harness verify --profile quick -- node examples/clients/key-in-url.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('key-in-url', { keyInUrl: true })
