// Production configuration with a test key: always sends X-Network: mainnet, whatever TENZRO_NETWORK
// says, so its testnet key is refused with 403 network_mismatch. Fails auth/key-for-this-network.
//   tenzro-harness verify --profile environments -- node examples/clients/drills/wrong-network.ts
import { runDrillClient } from './lib/drill-client.ts'

await runDrillClient('wrong-network', { network: 'mainnet' })
