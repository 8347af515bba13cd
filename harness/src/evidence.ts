// What the checks judge a client by: the mock's record (contract 7.3), what the client printed or
// wrote, the spans it sent, and what the harness did on purpose (the profile). Checks are pure
// functions of this (house style principle 4).
import type { LagTrace } from './lag.ts'
import type { Span } from './otlp/index.ts'

export interface RequestEntry {
  seq: number
  type: 'request'
  /** Epoch ms when the response was finished (the record is written then). */
  ts: number
  requestId: string
  clientRequestId?: boolean
  method: string
  route: string | null
  path: string
  status: number
  durationMs: number
  tenant: string | null
  keyId: string | null
  auth: 'ok' | 'refused' | null
  code: string | null
  rateLimit: { allowed: boolean, limit: number, remaining: number, resetAtMs: number, retryAfterS: number } | null
  idempotencyKey: string | null
  idempotency: 'missing' | 'new' | 'stored' | 'replayed' | 'in_progress' | 'mismatch' | null
  faults: string[] | null
  lostResponse: boolean
  secretInUrl?: boolean
  secretInBody?: boolean
  retryAfterS?: number | null
}

export interface StreamEntry { seq: number, type: 'stream', ts: number, phase: 'open' | 'close', streamId: string, keyId: string, tenant: string, requestId: string, lastEventId?: number | null, retryMs?: number, reason?: string, lastId?: number | null, events?: number }
export interface DropEntry { seq: number, type: 'drop', ts: number, streamId: string, keyId: string, requestId: string, reason: string, where?: string, lastId: number | null }
export interface FrameEntry { seq: number, type: 'frame', ts: number, streamId: string, keyId: string, id: number, event: string, from?: number, to?: number, duplicate?: boolean, replay?: boolean }
export interface FaultEntry { seq: number, type: 'fault', ts: number, streamId?: string, keyId?: string, fault: string, phase?: string, retryMs?: number, status?: number, retryAfterS?: number }
export interface ResumeEntry { seq: number, type: 'resume', ts: number, streamId: string, keyId: string, lastEventId: number, via: string }

export type AnyEntry = RequestEntry | StreamEntry | DropEntry | FrameEntry | FaultEntry | ResumeEntry | { seq: number, type: string, ts: number, [k: string]: unknown }

export interface CapturedOutput {
  /** e.g. `stdout`, `stderr`, `log:/var/log/app.log`, `dir:dist/`. */
  source: string
  text: string | Buffer
}

export interface Evidence {
  /** Every record entry of the run, in sequence order. */
  record: AnyEntry[]
  /** Key ids the client under test used (its canary key, and keys it rotated to). */
  keyIds: string[]
  /** Full keys that must never leak (the canaries). */
  canaries: string[]
  outputs: CapturedOutput[]
  /** Directories to scan for leaked keys. */
  scanDirs: string[]
  spans: Span[]
  /** What the harness set up: the SSE retry and heartbeat in force, tolerances, whether the key was revoked. */
  setup: {
    retryMs: number
    heartbeatMs: number
    /** How long a client may take to notice a silent stream (default 3 heartbeats). */
    stallDetectMs: number
    /** How soon after a stream.gap a resync must follow (default RESYNC_WITHIN_MS of the reconnection checks, 10 s). */
    resyncWithinMs?: number | undefined
    toleranceMs: number
    maxRetries: number
    revokedAtMs?: number | undefined
    endMs: number
    /** How late the harness's timers ran during the run (a busy machine): the backoff check credits it. */
    lag?: LagTrace | undefined
    /** The drills (drills/): what the harness did, when, to which keys. */
    drills?: DrillSetup | undefined
  }
}

/** What a drill profile did during the run: the checks of drills/ judge against it. */
export interface DrillSetup {
  /** How the client's process ended: a crash before the harness stopped it shows here. */
  client?: { exitCode: number | null, signal: string | null, exitedAtMs: number, stoppedByHarness: boolean }
  /** Key rotation: new key issued and written to TENZRO_API_KEY_FILE at rotatedAtMs, old one revoked graceMs later. */
  rotation?: { oldKeyId: string, newKeyId: string, rotatedAtMs: number, revokedAtMs?: number | undefined, graceMs: number }
  /** Hostile payloads injected at atMs: their event sequences and wallet ids. */
  hostile?: { atMs: number, eventIds: number[], walletIds: string[] }
  /** The network the client's key is bound to (keys bound to a network: API 2.8). */
  network?: { bound: string }
  /** Incident: every key of the tenant revoked at once at revokedAtMs. */
  incident?: { tenantId: string, revokedAtMs: number, keyIds: string[], heartbeatMs: number }
}

export function requestsOf (e: Evidence): RequestEntry[] {
  const keys = new Set(e.keyIds)
  return e.record.filter((x): x is RequestEntry => x.type === 'request' && (x as RequestEntry).route?.startsWith('/__harness') !== true &&
    ((x as RequestEntry).keyId === null || keys.has((x as RequestEntry).keyId!)))
}

/** When the request reached the mock: the entry is written at response end. */
export function startOf (r: RequestEntry): number {
  return r.ts - r.durationMs
}

export function entriesOf<T extends AnyEntry['type']> (e: Evidence, type: T): Array<Extract<AnyEntry, { type: T }>> {
  const keys = new Set(e.keyIds)
  return e.record.filter((x) => x.type === type && (!('keyId' in x) || x.keyId === undefined || keys.has(x.keyId as string))) as Array<Extract<AnyEntry, { type: T }>>
}
