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
  /** Serve the embedded mock over HTTPS (as verify --tls does). */
  tls?: boolean
  /**
   * A noisy neighbour: the harness itself sends requests on the client's key at `share` times the
   * key's limit (keyRateLimit per the mock's rate-limit window) from the first client request to the
   * revocation. Its requests are left out of the evidence; the client meets the limiter's real 429s.
   */
  loader?: { share: number }
  /** The drills (drills/spec.ts): key rotation, hostile payloads, a network-bound key, an incident. */
  drill?: DrillSpec
}

const LIST = 'GET /api/wallet/list'
const CREATE = 'POST /api/wallet/create'
const STREAM = 'GET /api/events/stream'

/** Chains of four 500s on the list: enough samples to tell growth and jitter apart. */
function errorChains (start: number, every: number, n = 4): FaultSpec[] {
  return Array.from({ length: n }, (_, i) => ({ id: `500-chain-${i + 1}`, type: 'error' as const, status: 500, scope: { route: LIST }, after: start + i * every, times: 4 }))
}

/**
 * The REST faults of `default` and `quick`. They count list requests (retries and resyncs included),
 * not seconds, and follow one another with a success or two between them, so each meets a fresh
 * logical request and a client that polls every 2 s meets them all in about half the run:
 * a 429 (answered again if retried too soon), a 503 with Retry-After, chains of 500s, then a failure
 * longer than any retry cap (a capped client gives up on it; an uncapped one shows it).
 */
function restFaults ({ chains, persistent }: { chains: number, persistent: number }): FaultSpec[] {
  const afterChains = 7 + chains * 5
  return [
    { id: '429-burst', type: 'rate-limit-burst', scope: { route: LIST }, after: 1, times: 2, retryAfterS: 2 },
    { id: '503-retry-after', type: 'error', status: 503, retryAfterS: 1, scope: { route: LIST }, after: 4, times: 1 },
    ...errorChains(7, 5, chains),
    { id: '500-persistent', type: 'error', status: 500, scope: { route: LIST }, after: afterChains + 1, times: persistent },
    { id: 'lost-create', type: 'lost-response', scope: { route: CREATE }, after: 1, times: 1 },
    { id: 'slow-list', type: 'latency', minMs: 0, maxMs: 30, scope: { route: LIST }, probability: 0.2 }
  ]
}

/**
 * The stream faults, one connection after another. They count connection attempts (sse-duplicate and
 * sse-gap count resumes, the only connections they can act on), and each connection ends by a fault
 * within a few events, so a conforming client meets them in the same order whatever its reconnect
 * delay (up to `retry:` plus 2 s of jitter) or its speed. Gaps come from the sse-gap fault, never
 * from the log's capacity (both profiles retain far more than a run publishes), so a resume is a gap
 * only when the plan says so and a duplicate resume is never also a gap.
 */
const defaultSse: FaultSpec[] = [
  // Connection 1: stalls after 5 events. A client that waits the contract's 2.5 heartbeats (37.5 s)
  // to notice has time for the rest before the key is revoked.
  { id: 'stall', type: 'sse-stall', scope: { route: STREAM }, afterEvents: 5, times: 1 },
  // Connection 2, the first resume: the events since its id are lost (a stream.gap), then a cut mid-frame.
  { id: 'gap-on-resume', type: 'sse-gap', scope: { route: STREAM }, times: 1 },
  { id: 'drop-mid-frame', type: 'sse-drop', scope: { route: STREAM }, afterEvents: 5, where: 'after-id', after: 1, times: 1 },
  // Connection 3, the second resume: three events sent again, retry: 2000 announced, then a cut between frames.
  { id: 'duplicate-on-resume', type: 'sse-duplicate', scope: { route: STREAM }, count: 3, after: 1, times: 1 },
  { id: 'retry-2s', type: 'sse-retry', retryMs: 2000, scope: { route: STREAM }, after: 2, times: 1 },
  { id: 'drop-after-retry-change', type: 'sse-drop', scope: { route: STREAM }, afterEvents: 8, after: 2, times: 1 },
  // Connection 4: refused with 503 and Retry-After.
  { id: 'reject-503', type: 'sse-reject', status: 503, retryAfterS: 3, scope: { route: STREAM }, after: 3, times: 1 }
]

const quickSse: FaultSpec[] = [
  // Connection 1: cut mid-frame after 5 events.
  { id: 'drop-mid-frame', type: 'sse-drop', scope: { route: STREAM }, afterEvents: 5, where: 'after-id', times: 1 },
  // Connection 2, the first resume: three events sent again, then a cut between frames.
  { id: 'duplicate-on-resume', type: 'sse-duplicate', scope: { route: STREAM }, count: 3, times: 1 },
  { id: 'drop-between', type: 'sse-drop', scope: { route: STREAM }, afterEvents: 8, after: 1, times: 1 },
  // Connection 3, the second resume: a stream.gap, retry: 2000 announced, then a cut.
  { id: 'gap-on-resume', type: 'sse-gap', scope: { route: STREAM }, after: 1, times: 1 },
  { id: 'retry-2s', type: 'sse-retry', retryMs: 2000, scope: { route: STREAM }, after: 2, times: 1 },
  { id: 'drop-after-retry-change', type: 'sse-drop', scope: { route: STREAM }, afterEvents: 5, after: 2, times: 1 },
  // Connection 4: refused with 503 and Retry-After. Connection 5: stalls after 15 events.
  { id: 'reject-503', type: 'sse-reject', status: 503, retryAfterS: 3, scope: { route: STREAM }, after: 3, times: 1 },
  { id: 'stall', type: 'sse-stall', scope: { route: STREAM }, afterEvents: 15, after: 4, times: 1 }
]

/** Both verify profiles: 5 events/s (a consumer taking 100 ms per event keeps up) and a log that keeps the whole run. */
const steadyEvents = { capacity: 10_000, generatorRate: 5, retryMs: 1000 }

/** A 1 s heartbeat instead of the contract's 15 s (4.3), and the client told to expect it. */
const fastStream = { heartbeatMs: 1000 }
const fastClient = { TENZRO_HEARTBEAT_TIMEOUT_MS: '2500' }

/**
 * `tls`: the mock over HTTPS (TLS 1.2+, a CA made for the run, given to the client as TENZRO_CA_FILE
 * and NODE_EXTRA_CA_CERTS). From 4 s for 4 s new connections get a certificate from another CA
 * (tls-untrusted), and from 11 s for 4 s only TLS 1.0/1.1 (tls-downgrade): a client must refuse both,
 * and come back once they end; the key is revoked at 16 s. Times count from the moment the plan is set,
 * just before the client starts.
 */
const tlsProfile: Profile = {
  name: 'tls',
  description: 'HTTPS with a CA made for the run; a certificate from an unknown CA for 4 s, then TLS 1.0/1.1 only for 4 s: the client must refuse both',
  durationS: 18,
  tls: true,
  // Revoked after both faults, so auth/no-hot-loop-after-401 is exercised too.
  revokeAtS: 16,
  mock: { events: { generatorRate: 5, ...fastStream } },
  faults: [
    { id: 'untrusted-cert', type: 'tls-untrusted', afterMs: 4000, durationMs: 4000 },
    { id: 'tls-1.1-only', type: 'tls-downgrade', afterMs: 11_000, durationMs: 4000 }
  ],
  stallDetectMs: 5000,
  checks: ['tls', 'auth', 'secrets'],
  clientEnv: { ...fastClient }
}

export const PROFILES: Record<string, Profile> = {
  default: {
    name: 'default',
    description: 'every fault of contract 7.2 at the contract\'s own timings (15 s heartbeat): a 429 burst, a 503 with Retry-After, chains of 500s, a failure longer than any retry cap, a lost response, an SSE stall, a stream.gap, drops mid-frame and between frames, duplicates on resume, a changed retry:, a refused reconnect, and the key revoked near the end',
    // A stall noticed after 2.5 heartbeats (37.5 s), then four more connections at up to retry: + 2 s
    // each, before the revocation at 62 s; slack for a client (or a machine) slow to start its stream.
    durationS: 66,
    mock: { events: { ...steadyEvents, heartbeatMs: 15_000 } },
    // A limit a steady client does not spend in a minute: the contract default (100/min) would leave
    // a polling client idle for half the run, and the throttling checks have the injected 429s.
    keyRateLimit: 1000,
    faults: [...restFaults({ chains: 4, persistent: 15 }), ...defaultSse],
    revokeAtS: 62,
    stallDetectMs: 45_000,
    checks: ['auth', 'throttling', 'reconnection', 'idempotency', 'secrets'],
    // The contract's 2.5 heartbeats (API 4.3), told to the client as under quick.
    clientEnv: { TENZRO_HEARTBEAT_TIMEOUT_MS: '37500' }
  },
  calm: {
    name: 'calm',
    description: 'no faults: a baseline run (most checks have nothing to judge and report skip)',
    durationS: 20,
    mock: { events: { generatorRate: 5 } },
    faults: [],
    stallDetectMs: 45_000,
    checks: ['auth', 'throttling', 'reconnection', 'idempotency', 'secrets']
  },
  quick: {
    name: 'quick',
    description: 'the faults of default in 37 s, with a 1 s heartbeat (the client gets TENZRO_HEARTBEAT_TIMEOUT_MS=2500); for CI and the example clients',
    durationS: 37,
    mock: { events: { ...steadyEvents, ...fastStream } },
    keyRateLimit: 100_000,
    // 15 failures in a row, as in default: two logical requests of one client (a poll and a resync)
    // that share them still each outlast a cap of four retries.
    faults: [...restFaults({ chains: 3, persistent: 15 }), ...quickSse],
    // The stall (connection 5) comes at about 18 s for a client that adds 2 s of jitter to every
    // reconnect; noticed within 5 s and retried after retry: 2000, all well before the revocation.
    revokeAtS: 33,
    stallDetectMs: 5000,
    resyncWithinMs: 2000,
    checks: ['auth', 'throttling', 'reconnection', 'idempotency', 'secrets'],
    clientEnv: { ...fastClient }
  },
  tls: tlsProfile,
  'shared-key': {
    name: 'shared-key',
    description: 'a noisy neighbour: the harness drains the same key at 1.2x its limit (150 requests per 15 s) all run long, so at least the last 2.5 s of every window answer the client real 429s (the neighbour takes the last request of each window itself, so a client pacing on X-RateLimit-Remaining meets them too) with honest X-RateLimit-* and Retry-After (1-3 s) headers; no injected faults',
    durationS: 30,
    // 15 s windows: at 1.2x the key runs out 12.5 s in, leaving 2.5 s of 429s whose Retry-After
    // (up to 3 s) outlasts a client's 1 s loop, so one that ignores it is caught in every window, and
    // any 26 s holds a whole one (the neighbour starts in step with the window, loader.ts). With 4
    // requests left it spends them at once (loader drainAt): a client that waits out X-RateLimit-Reset
    // after Remaining 0 could otherwise take the last one and never meet a 429 (a CI run saw it).
    mock: { rateLimit: { windowMs: 15_000 }, events: { ...steadyEvents, ...fastStream } },
    keyRateLimit: 150,
    faults: [],
    loader: { share: 1.2 },
    revokeAtS: 26,
    stallDetectMs: 5000,
    checks: ['auth', 'throttling', 'secrets'],
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
    faults: restFaults({ chains: 4, persistent: 15 }).filter((f) => f.id !== 'lost-create'),
    stallDetectMs: 5000,
    checks: ['throttling', 'auth'],
    clientEnv: { ...fastClient, TENZRO_CLIENT_PARTS: 'list' }
  },
  reconnection: {
    name: 'reconnection',
    description: 'SSE drops mid-frame and between frames, duplicates on resume, a stream.gap, a changed retry:, a refused reconnect and a stall',
    durationS: 20,
    mock: { events: { ...steadyEvents, ...fastStream } },
    faults: quickSse,
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
      { id: 'duplicate-on-resume', type: 'sse-duplicate', scope: { route: STREAM }, count: 5, times: 2 }
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
    durationS: 26,
    mock: { events: { ...steadyEvents, ...fastStream } },
    faults: [...restFaults({ chains: 4, persistent: 15 }), ...quickSse],
    revokeAtS: 23,
    stallDetectMs: 5000,
    checks: ['auth', 'throttling', 'reconnection', 'idempotency', 'secrets'],
    clientEnv: { ...fastClient }
  },
  ...DRILL_SCENARIOS
}
