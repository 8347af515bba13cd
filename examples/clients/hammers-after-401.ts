// Does not notice that its key was revoked: every loop carries on against 401s (contract 2.5).
//   tenzro-harness verify --profile quick -- node examples/clients/hammers-after-401.ts
import { runNaiveClient } from './lib/naive.ts'

await runNaiveClient('hammers-after-401', { on401: 'continue' })
