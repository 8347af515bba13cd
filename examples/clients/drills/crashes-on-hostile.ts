// Trusts what the API sends: the first event whose amount is not a number throws out of its stream
// loop and the process dies. Fails input/survives-hostile.
//   tenzro-harness verify --profile hostile -- node examples/clients/drills/crashes-on-hostile.ts
import { runDrillClient } from './lib/drill-client.ts'

await runDrillClient('crashes-on-hostile', { validates: false, onBadEvent: 'crash' })
