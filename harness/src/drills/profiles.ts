// The drills as profiles of `verify` and scenarios of `run`: the practices of Tenzro's security guide
// (rotate keys, separate keys per environment, validate every input, respond to an incident) rehearsed
// against the client. Each runs the mock at the quick profile's pace: a 1 s heartbeat the client is
// told about, 5 events/s, a log that keeps the whole run and a key limit no client reaches, so the only
// thing happening to the client is the drill.
import type { FaultSpec } from '../../../mock-server/src/domain/fault-plan.ts'
import type { MockConfigInput } from '../../../mock-server/src/config.ts'
import type { CheckGroup } from '../checks/index.ts'
import type { DrillSpec } from './spec.ts'

/** The fields of a profile (profiles.ts `Profile`) that a drill sets; profiles.ts spreads these in. */
export interface DrillProfile {
  name: string
  description: string
  durationS: number
  mock: MockConfigInput
  keyRateLimit: number
  faults: FaultSpec[]
  stallDetectMs: number
  checks: readonly CheckGroup[]
  clientEnv: Record<string, string>
  drill: DrillSpec
  /** For `run`: the client, when not the reference client (a path under examples/clients). */
  client?: string
}

// 8 MiB of send buffer per stream: the hostile drill's 1 MiB event must fit, or a client slowed by a
// loaded machine would be cut off as a slow consumer on it again and again (a loop the mock made).
const drillMock = { events: { capacity: 10_000, generatorRate: 5, retryMs: 1000, heartbeatMs: 1000, maxBufferedBytes: 8 << 20 } }
const drillClient = { TENZRO_HEARTBEAT_TIMEOUT_MS: '2500' }

/** The documented grace period of a rotation: how long both keys work. */
export const ROTATION_GRACE_S = 5

export const DRILL_PROFILES: Record<string, DrillProfile> = {
  rotation: {
    name: 'rotation',
    description: `key rotation: the key is also in TENZRO_API_KEY_FILE; at 6 s a new key is written to the file, ${ROTATION_GRACE_S} s later the old key is revoked and its streams close. The client must switch within the grace period, without a 401 storm or lost events, and never use the old key again`,
    durationS: 20,
    mock: drillMock,
    keyRateLimit: 100_000,
    faults: [],
    stallDetectMs: 5000,
    checks: ['rotation', 'auth', 'secrets'],
    clientEnv: { ...drillClient },
    drill: { rotation: { atS: 6, graceS: ROTATION_GRACE_S } }
  },
  hostile: {
    name: 'hostile',
    description: 'hostile input: at 4 s the stream carries script tags, SQL, a 1 MB string, numbers beyond 2^53, NaN-like and negative amounts, invalid addresses, unknown event types, __proto__/constructor keys and lone surrogates, and the wallet list the same; the client must keep consuming and never loop on one event',
    durationS: 20,
    mock: drillMock,
    keyRateLimit: 100_000,
    faults: [],
    stallDetectMs: 5000,
    checks: ['input', 'auth', 'secrets'],
    clientEnv: { ...drillClient },
    drill: { hostileAtS: 4 }
  },
  environments: {
    name: 'environments',
    description: 'separate keys per environment: the key is bound to testnet (the client gets TENZRO_NETWORK=testnet); a request that names another network, or none (devnet), is refused with 403 network_mismatch',
    durationS: 12,
    mock: drillMock,
    keyRateLimit: 100_000,
    faults: [],
    stallDetectMs: 5000,
    checks: ['network', 'auth', 'secrets'],
    clientEnv: { ...drillClient },
    drill: { network: 'testnet' }
  },
  incident: {
    name: 'incident',
    description: 'incident response: at 8 s every key of the tenant is revoked at once (the client\'s and two sentinel streams\' keys); every stream must close within one heartbeat, no request may succeed after, and the client must stop cleanly. Also: tenzro-harness drill incident',
    durationS: 16,
    mock: drillMock,
    keyRateLimit: 100_000,
    faults: [],
    stallDetectMs: 5000,
    checks: ['incident', 'auth', 'secrets'],
    clientEnv: { ...drillClient },
    drill: { incident: { atS: 8, sentinels: 2 } }
  }
}

/**
 * The same drills as `run` scenarios. The reference client reads its key once, so the rotation
 * scenario runs the example that re-reads the key file; the others run the reference client.
 */
export const DRILL_SCENARIOS: Record<string, DrillProfile> = {
  rotation: { ...DRILL_PROFILES.rotation!, clientEnv: { ...drillClient }, client: 'drills/rereads-key-file.ts' },
  hostile: { ...DRILL_PROFILES.hostile!, clientEnv: { ...drillClient } },
  environments: { ...DRILL_PROFILES.environments!, clientEnv: { ...drillClient } },
  incident: { ...DRILL_PROFILES.incident!, clientEnv: { ...drillClient } }
}
