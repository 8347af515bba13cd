// Treats 429 and 503 like any failure: backs off a little and comes back long before
// Retry-After has elapsed (contract 5.3), on the REST routes and on the event stream.
//   tenzro-harness verify --profile quick -- node examples/clients/ignores-retry-after.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('ignores-retry-after', { honoursRetryAfter: false })
