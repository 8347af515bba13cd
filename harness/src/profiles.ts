// Fault profiles: what the harness does to a client on purpose. Each is a mock configuration, a fault
// plan (contract 7.2) and a timeline (revoke the key near the end). `default` exercises every check
// for a client that, during the run, lists wallets, creates wallets and consumes the event stream.
import type { FaultSpec } from '../../mock-server/src/domain/fault-plan.ts'
import type { MockConfigInput } from '../../mock-server/src/config.ts'
import type { CheckGroup } from './checks/index.ts'
import type { DrillSpec } from './drills/spec.ts'
import { DRILL_PROFILES, DRILL_SCENARIOS } from './drills/profiles.ts'

export interface Profile {
  name: string
  description: string
  durationS: number
  /** Configuration of the embedded mock (ignored with --target, where the running mock's applies). */
  mock: MockConfigInput
  /** The tenant's first key: its own rate limit (requests per window). */
  keyRateLimit?: number
  faults: FaultSpec[]
  /** Revoke the key this many seconds after the start (auth check: no hot loop after a 401). */
  revokeAtS?: number
  /** Allowed time to notice a silent stream (default three contract heartbeats, 45 s). */
  stallDetectMs: number
  /** Allowed time from a stream.gap to the resync (a wallet list) that must follow it (default 10 s). */
  resyncWithinMs?: number
  checks: readonly CheckGroup[]
  /**
   * Extra environment for the client under test, for a profile that runs the mock faster than the
   * contract (a 1 s heartbeat): TENZRO_HEARTBEAT_TIMEOUT_MS tells a client what silence means here.
   */
  clientEnv?: Record<string, string>
  /** The drills (drills/spec.ts): key rotation, hostile payloads, a network-bound key, an incident. */
  drill?: DrillSpec
}

const LIST = 'GET /api/wallet/list'
const CREATE = 'POST /api/wallet/create'
const STREAM = 'GET /api/events/stream'

/** Four chains of four 500s on the list: enough samples to tell growth and jitter apart. */
function errorChains (start: number, every: number, n = 4): FaultSpec[] {
  return Array.from({ length: n }, (_, i) => ({ id: `500-chain-${i + 1}`, type: 'error' as const, status: 500, scope: { route: LIST }, after: start + i * every, times: 4 }))
}

const restFaults = (scale: number): FaultSpec[] => [
  { id: '429-burst', type: 'rate-limit-burst', scope: { route: LIST }, after: 3, times: 2, retryAfterS: 2 },
  { id: '503-retry-after', type: 'error', status: 503, retryAfterS: 1, scope: { route: LIST }, after: 12, times: 1 },
  ...errorChains(20, Math.round(15 * scale)),
  { id: '500-persistent', type: 'error', status: 500, scope: { route: LIST }, after: 20 + Math.round(70 * scale), times: 15 },
  { id: 'lost-create', type: 'lost-response', scope: { route: CREATE }, after: 1, times: 1 },
  { id: 'slow-list', type: 'latency', minMs: 0, maxMs: 30, scope: { route: LIST }, probability: 0.2 }
]

/**
 * The default run's stream faults, stall first: a client that waits the contract's 2.5 heartbeats
 * (37.5 s) to notice has then still time for the rest before the key is revoked. The stall also
 * outlasts the retained log, so the reconnect after it meets a stream.gap.
 */
const defaultSse: FaultSpec[] = [
  { id: 'stall', type: 'sse-stall', scope: { route: STREAM }, afterEvents: 5, times: 1 },
  { id: 'drop-mid-frame', type: 'sse-drop', scope: { route: STREAM }, afterEvents: 8, where: 'after-id', after: 1, times: 1 },
  { id: 'drop-between', type: 'sse-drop', scope: { route: STREAM }, afterEvents: 8, after: 2, times: 1 },
  { id: 'duplicate-on-resume', type: 'sse-duplicate', scope: { route: STREAM }, count: 3, after: 2, times: 1 },
  { id: 'reject-503', type: 'sse-reject', status: 503, retryAfterS: 3, scope: { route: STREAM }, after: 3, times: 1 },
  { id: 'retry-2s', type: 'sse-retry', retryMs: 2000, scope: { route: STREAM }, after: 4, times: 1 },
  { id: 'drop-after-retry-change', type: 'sse-drop', scope: { route: STREAM }, afterEvents: 5, after: 4, times: 1 }
]

const sseFaults: FaultSpec[] = [
  { id: 'drop-mid-frame', type: 'sse-drop', scope: { route: STREAM }, afterEvents: 8, where: 'after-id', times: 1 },
  { id: 'drop-between', type: 'sse-drop', scope: { route: STREAM }, afterEvents: 8, after: 1, times: 1 },
  { id: 'duplicate-on-resume', type: 'sse-duplicate', scope: { route: STREAM }, count: 3, after: 1, times: 1 },
  { id: 'reject-503', type: 'sse-reject', status: 503, retryAfterS: 3, scope: { route: STREAM }, after: 2, times: 1 },
  { id: 'stall', type: 'sse-stall', scope: { route: STREAM }, afterEvents: 5, after: 3, times: 1 },
  { id: 'retry-2s', type: 'sse-retry', retryMs: 2000, scope: { route: STREAM }, after: 4, times: 1 },
  { id: 'drop-after-retry-change', type: 'sse-drop', scope: { route: STREAM }, afterEvents: 5, after: 4, times: 1 }
]

/** Events fast enough, and a log small enough, that a 3 s outage loses events: a stream.gap (4.4). */
const eventsForGap = { capacity: 30, generatorRate: 10, retryMs: 1000 }

/** A 1 s heartbeat instead of the contract's 15 s (4.3), and the client told to expect it. */
const fastStream = { heartbeatMs: 1000 }
const fastClient = { TENZRO_HEARTBEAT_TIMEOUT_MS: '2500' }

/**
 * `quick`: the faults of `default` compressed into 20 s. Faults count requests or connections, not
 * seconds, and the clock starts at the client's first request, so every client meets them in the same
 * order at about the same moments. The timeline keeps faults apart, so each check is judged well
 * before the end and no verdict depends on two faults meeting by chance:
 * - list: a persistent failure first (a client that retries without a cap shows it early), then a
 *   429, a 503 with Retry-After and three chains of 500s, all over by about 12 s; the key limit is
 *   high, so the only 429s are the injected ones;
 * - stream: dropped mid-frame; duplicated on resume and dropped between frames; stalled (an outage of
 *   3.5 s, which the 52 retained events cover); told `retry: 2000` and dropped; then refused for 5 s,
 *   an outage of 7 s that the log does not cover: a stream.gap (contract 4.4) at about 15.5 s, after
 *   the list faults, judged with a 2 s resync window;
 * - the key is revoked at 18 s.
 */
const quickRest: FaultSpec[] = [
  { id: '500-persistent', type: 'error', status: 500, scope: { route: LIST }, after: 5, times: 10 },
  { id: '429-burst', type: 'rate-limit-burst', scope: { route: LIST }, after: 17, times: 1, retryAfterS: 1 },
  { id: '503-retry-after', type: 'error', status: 503, retryAfterS: 1, scope: { route: LIST }, after: 21, times: 1 },
  ...errorChains(24, 6, 3),
  { id: 'lost-create', type: 'lost-response', scope: { route: CREATE }, after: 1, times: 1 },
  { id: 'slow-list', type: 'latency', minMs: 0, maxMs: 30, scope: { route: LIST }, probability: 0.2 }
]

const quickSse: FaultSpec[] = [
  { id: 'drop-mid-frame', type: 'sse-drop', scope: { route: STREAM }, afterEvents: 5, where: 'after-id', times: 1 },
  { id: 'duplicate-on-resume', type: 'sse-duplicate', scope: { route: STREAM }, count: 3, after: 1, times: 1 },
  { id: 'drop-between', type: 'sse-drop', scope: { route: STREAM }, afterMs: 1000, after: 1, times: 1 },
  { id: 'stall', type: 'sse-stall', scope: { route: STREAM }, afterEvents: 15, after: 2, times: 1 },
  { id: 'retry-2s', type: 'sse-retry', retryMs: 2000, scope: { route: STREAM }, after: 3, times: 1 },
  { id: 'drop-after-retry-change', type: 'sse-drop', scope: { route: STREAM }, afterMs: 1000, after: 3, times: 1 },
  { id: 'reject-503', type: 'sse-reject', status: 503, retryAfterS: 5, scope: { route: STREAM }, after: 4, times: 1 }
]

export const PROFILES: Record<string, Profile> = {
  default: {
    name: 'default',
    description: 'every fault of contract 7.2 in one run: 429 bursts, 503 with Retry-After, 500 chains, a persistent failure, a lost response, SSE drops mid-frame, duplicates, a refused reconnect leading to a gap, a stall, a changed retry:, and the key revoked near the end',
    // 57 s of client time plus start and stop keeps the whole verify within 60 s.
    durationS: 57,
    mock: { events: { ...eventsForGap, heartbeatMs: 15_000 } },
    // A limit a steady client does not spend in a minute: the contract default (100/min) would leave
    // a polling client idle for half the run, and the throttling checks have the injected 429s.
    keyRateLimit: 1000,
    faults: [...restFaults(1), ...defaultSse],
    revokeAtS: 53,
    stallDetectMs: 45_000,
    checks: ['auth', 'throttling', 'reconnection', 'idempotency', 'secrets']
  },
  calm: {
    name: 'calm',
    description: 'no faults: a baseline run (only the secrets and auth checks have something to judge)',
    durationS: 20,
    mock: { events: { generatorRate: 5 } },
    faults: [],
    stallDetectMs: 45_000,
    checks: ['auth', 'throttling', 'reconnection', 'idempotency', 'secrets']
  },
  quick: {
    name: 'quick',
    description: 'the faults of default compressed into 20 s, with a 1 s heartbeat (the client gets TENZRO_HEARTBEAT_TIMEOUT_MS=2500); for CI and the example clients',
    durationS: 20,
    // 10 events/s and 52 retained: the 7 s outage around the refusal loses events, the 3.5 s stall does not.
    mock: { events: { capacity: 52, generatorRate: 10, retryMs: 1000, ...fastStream } },
    keyRateLimit: 100_000,
    faults: [...quickRest, ...quickSse],
    revokeAtS: 18,
    stallDetectMs: 5000,
    resyncWithinMs: 2000,
    checks: ['auth', 'throttling', 'reconnection', 'idempotency', 'secrets'],
    clientEnv: { ...fastClient }
  },
  ...DRILL_PROFILES
}

/** Built-in scenarios of `run`: shorter, with a fast heartbeat the reference client is told about. */
export interface Scenario extends Profile {
  /** Extra environment for the reference client (the heartbeat it should expect). */
  clientEnv: Record<string, string>
  /** The client the scenario runs, when not the reference client (a path under examples/clients). */
  client?: string
}

export const SCENARIOS: Record<string, Scenario> = {
  throttling: {
    name: 'throttling',
    description: '429 bursts, 503 with Retry-After, chains of 500s and a persistent failure',
    durationS: 14,
    mock: { events: { generatorRate: 0 } },
    faults: restFaults(0.6).filter((f) => f.id !== 'lost-create'),
    stallDetectMs: 5000,
    checks: ['throttling', 'auth'],
    clientEnv: { ...fastClient, TENZRO_CLIENT_PARTS: 'list' }
  },
  reconnection: {
    name: 'reconnection',
    description: 'SSE drops mid-frame and between frames, duplicates on resume, a refused reconnect and the gap it causes, a stall, a changed retry:',
    durationS: 16,
    mock: { events: { ...eventsForGap, ...fastStream } },
    faults: sseFaults,
    stallDetectMs: 5000,
    checks: ['reconnection'],
    clientEnv: { ...fastClient, TENZRO_CLIENT_PARTS: 'events,list' }
  },
  idempotency: {
    name: 'idempotency',
    description: 'lost responses on create, concurrent duplicates, and events replayed on resume',
    durationS: 10,
    mock: { events: { generatorRate: 10, ...fastStream } },
    faults: [
      { id: 'lost-create', type: 'lost-response', scope: { route: CREATE }, after: 1, times: 2 },
      { id: 'slow-create', type: 'latency', ms: 50, scope: { route: CREATE } },
      { id: 'drop', type: 'sse-drop', scope: { route: STREAM }, afterEvents: 10, times: 2 },
      { id: 'duplicate-on-resume', type: 'sse-duplicate', scope: { route: STREAM }, count: 5, after: 1, times: 2 }
    ],
    stallDetectMs: 5000,
    checks: ['idempotency'],
    clientEnv: { ...fastClient, TENZRO_CLIENT_PARTS: 'create,events' }
  },
  secrets: {
    name: 'secrets',
    description: 'error paths (401 after revocation, 500s, dropped connections) with a canary key, then every output, log line and span searched for it',
    durationS: 10,
    mock: { events: { generatorRate: 5, ...fastStream } },
    faults: [
      { id: '500s', type: 'error', status: 500, scope: { route: LIST }, probability: 0.3, times: 10 },
      { id: 'lost-create', type: 'lost-response', scope: { route: CREATE }, after: 1, times: 1 },
      { id: 'drop', type: 'sse-drop', scope: { route: STREAM }, afterEvents: 5, times: 1 }
    ],
    revokeAtS: 7,
    stallDetectMs: 5000,
    checks: ['secrets', 'auth'],
    clientEnv: { ...fastClient }
  },
  everything: {
    name: 'everything',
    description: 'every fault at once, every check',
    durationS: 24,
    mock: { events: { ...eventsForGap, ...fastStream } },
    faults: [...restFaults(0.6), ...sseFaults],
    revokeAtS: 21,
    stallDetectMs: 5000,
    checks: ['auth', 'throttling', 'reconnection', 'idempotency', 'secrets'],
    clientEnv: { ...fastClient }
  },
  ...DRILL_SCENARIOS
}
