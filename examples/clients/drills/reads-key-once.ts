// Reads TENZRO_API_KEY_FILE once at start, like most services read their configuration: after the
// rotation its key is revoked and it can only stop. Fails auth/survives-rotation.
//   tenzro-harness verify --profile rotation -- node examples/clients/drills/reads-key-once.ts
import { runDrillClient } from './lib/drill-client.ts'

await runDrillClient('reads-key-once', { keySource: 'file-once' })
