// Verifies the server certificate against the CA the harness gives (TENZRO_CA_FILE) and keeps Node's
// TLS 1.2 floor: it refuses the untrusted certificate and the TLS 1.1 offer of the `tls` profile.
//   tenzro-harness verify --profile tls -- node examples/clients/tls/verifies.ts
import { runTlsClient } from '../lib/tls-client.ts'

await runTlsClient('tls-verifies', 'verify')
