// The drills' good client. Rotation done right: reads its key from TENZRO_API_KEY_FILE, re-reads the
// file when it changes and on a 401, and resumes its event stream with Last-Event-ID on the new key.
// It validates every wallet and event, sets a bad one aside and carries on, and names its network
// (TENZRO_NETWORK). Passes every drill.
//   tenzro-harness verify --profile rotation -- node examples/clients/drills/rereads-key-file.ts
import { runDrillClient } from './lib/drill-client.ts'

await runDrillClient('rereads-key-file')
