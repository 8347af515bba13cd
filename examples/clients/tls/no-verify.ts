// `rejectUnauthorized: false` (and a TLS 1.0 floor): talks to whatever answers. Fails
// tls/verifies-certificates and tls/refuses-old-protocols under the `tls` profile.
//   tenzro-harness verify --profile tls -- node examples/clients/tls/no-verify.ts
import { runTlsClient } from '../lib/tls-client.ts'

await runTlsClient('tls-no-verify', 'insecure')
