// The drills' verdicts as pure functions of hand-built evidence: each check skips when its condition
// did not occur, passes when the client behaved and fails when it did not, with the boundaries
// spelled out (grace period, 401 storm, deliveries of one event, one heartbeat, requests after a refusal).
import { describe, expect, it } from 'vitest'
import { checkIncident, checkInput, checkNetwork, checkRotation } from '../src/checks/index.ts'
import { ROTATION_MAX_401 } from '../src/checks/rotation.ts'
import { POISON_MAX_DELIVERIES } from '../src/checks/input.ts'
import { INCIDENT_MAX_AFTER_REFUSAL } from '../src/checks/incident.ts'
import type { AnyEntry, DrillSetup, Evidence, RequestEntry } from '../src/evidence.ts'
import { auditTrail, buildTimeline } from '../src/drills/audit.ts'
import { T0, LIST } from './helpers/fixtures.ts'

const OLD = 'key_OLDOLDOLDOLDOLDOL'
const NEW = 'key_NEWNEWNEWNEWNEWNE'
let seq = 0

function req (start: number, o: Partial<RequestEntry> = {}): RequestEntry {
  seq++
  return { seq, type: 'request', ts: T0 + start + 2, requestId: `req_${seq}`, method: 'GET', route: LIST, path: LIST, status: 200, durationMs: 2, tenant: 't1', keyId: OLD, auth: 'ok', code: null, rateLimit: null, idempotencyKey: null, idempotency: null, faults: null, lostResponse: false, ...o }
}
const open = (at: number, streamId: string, keyId = OLD, lastEventId: number | null = null): AnyEntry => ({ seq: ++seq, type: 'stream', ts: T0 + at, phase: 'open', streamId, keyId, tenant: 't1', requestId: `r${seq}`, lastEventId })
const close = (at: number, streamId: string, keyId = OLD, reason = 'client'): AnyEntry => ({ seq: ++seq, type: 'stream', ts: T0 + at, phase: 'close', streamId, keyId, tenant: 't1', requestId: `r${seq}`, reason })
const frame = (at: number, streamId: string, id: number, keyId = OLD, event = 'wallet.updated'): AnyEntry => ({ seq: ++seq, type: 'frame', ts: T0 + at, streamId, keyId, id, event })

function ev (record: AnyEntry[], drills: DrillSetup | undefined, keyIds = [OLD, NEW], endAt = 20_000): Evidence {
  return { record, keyIds, canaries: [], outputs: [], scanDirs: [], spans: [], setup: { retryMs: 1000, heartbeatMs: 1000, stallDetectMs: 5000, toleranceMs: 50, maxRetries: 5, endMs: T0 + endAt, drills } }
}
const byId = (rs: ReturnType<typeof checkRotation>, id: string) => rs.find((r) => r.id === id)!
const client = { exitCode: null, signal: 'SIGTERM', exitedAtMs: T0 + 20_000, stoppedByHarness: true }

describe('auth/survives-rotation and auth/old-key-retired', () => {
  const rotation = { oldKeyId: OLD, newKeyId: NEW, rotatedAtMs: T0 + 6000, revokedAtMs: T0 + 11_000, graceMs: 5000 }

  it('skip without a rotation, and when nothing came after the revocation', () => {
    for (const r of checkRotation(ev([req(100)], undefined))) expect(r.status).toBe('skip')
    const early = checkRotation(ev([req(100), req(7000, { keyId: NEW })], { rotation }))
    expect(byId(early, 'auth/survives-rotation').status).toBe('skip')
    expect(byId(early, 'auth/old-key-retired').status).toBe('pass')
  })

  it('pass: switched on the 401, the stream resumed from its last event on the new key', () => {
    const record = [open(0, 's1'), frame(500, 's1', 10), req(10_000), close(11_000, 's1', OLD, 'revoked'), req(11_050, { status: 401, auth: 'refused', code: 'revoked_api_key' }), req(11_200, { keyId: NEW }), open(11_300, 's2', NEW, 10), frame(11_400, 's2', 11, NEW)]
    const r = checkRotation(ev(record, { rotation }))
    expect(byId(r, 'auth/survives-rotation').status).toBe('pass')
    expect(byId(r, 'auth/old-key-retired').status).toBe('pass')
  })

  it('fail: never picked up the new key, or only after the grace period', () => {
    const never = checkRotation(ev([open(0, 's1'), frame(500, 's1', 10), req(11_100, { status: 401, auth: 'refused' })], { rotation }))
    expect(byId(never, 'auth/survives-rotation').status).toBe('fail')
    expect(byId(never, 'auth/old-key-retired').status).toBe('skip')
    const late = checkRotation(ev([req(11_100, { status: 401 }), req(16_500, { keyId: NEW })], { rotation }))
    expect(byId(late, 'auth/survives-rotation').summary).toMatch(/beyond the 5 s grace period/)
  })

  it(`fail: a storm of more than ${ROTATION_MAX_401} 401s, a stream reopened without Last-Event-ID`, () => {
    const storm = Array.from({ length: ROTATION_MAX_401 + 1 }, (_, i) => req(11_010 + i * 10, { status: 401 }))
    expect(byId(checkRotation(ev([...storm, req(11_200, { keyId: NEW })], { rotation })), 'auth/survives-rotation').summary).toMatch(/401 storm/)
    const okStorm = storm.slice(1)
    expect(byId(checkRotation(ev([...okStorm, req(11_200, { keyId: NEW })], { rotation })), 'auth/survives-rotation').status).toBe('pass')
    const lost = [open(0, 's1'), frame(500, 's1', 10), req(11_200, { keyId: NEW }), open(11_300, 's2', NEW, null)]
    expect(byId(checkRotation(ev(lost, { rotation })), 'auth/survives-rotation').summary).toMatch(/without Last-Event-ID/)
  })

  it('fail: the old key comes back after the switch', () => {
    const r = checkRotation(ev([req(7000, { keyId: NEW }), req(8000, { keyId: OLD }), req(11_500, { keyId: NEW })], { rotation }))
    expect(byId(r, 'auth/old-key-retired').status).toBe('fail')
  })
})

describe('input/survives-hostile and input/no-poison-loop', () => {
  const hostile = { atMs: T0 + 4000, eventIds: [50, 51], walletIds: ['wal_h'] }

  it('skip without hostile payloads, or when none reached the client', () => {
    for (const r of checkInput(ev([req(100)], undefined))) expect(r.status).toBe('skip')
    for (const r of checkInput(ev([req(100)], { hostile, client }))) expect(r.status).toBe('skip')
  })

  it('pass: kept listing and consuming, each event at most three times', () => {
    const lists = Array.from({ length: 40 }, (_, i) => req(i * 500))
    const rec = [...lists, open(0, 's1'), frame(4100, 's1', 50), frame(4100, 's1', 51), frame(4200, 's1', 52)]
    const r = checkInput(ev(rec, { hostile, client }))
    expect(r.map((x) => x.status)).toEqual(['pass', 'pass'])
  })

  it('fail: exited on its own after a hostile payload', () => {
    const rec = [req(0), req(500), req(4100), open(0, 's1'), frame(4100, 's1', 50), close(4150, 's1')]
    const r = checkInput(ev(rec, { hostile, client: { exitCode: 1, signal: null, exitedAtMs: T0 + 4150, stoppedByHarness: false } }))
    expect(r[0]!.status).toBe('fail')
    expect(r[0]!.summary).toMatch(/exited on its own \(code 1\)/)
  })

  it('fail: stopped listing, or stopped consuming the stream, well before the end', () => {
    const lists = Array.from({ length: 10 }, (_, i) => req(i * 500))
    expect(checkInput(ev([...lists], { hostile, client }))[0]!.summary).toMatch(/stopped listing wallets/)
    const rec = [open(0, 's1'), frame(4100, 's1', 50), close(4200, 's1')]
    expect(checkInput(ev(rec, { hostile, client }))[0]!.summary).toMatch(/stopped consuming the event stream/)
  })

  it(`fail: one event delivered more than ${POISON_MAX_DELIVERIES} times`, () => {
    const rec: AnyEntry[] = []
    for (let i = 0; i <= POISON_MAX_DELIVERIES; i++) rec.push(open(4000 + i * 1000, `s${i}`, OLD, 49), frame(4010 + i * 1000, `s${i}`, 50), close(4020 + i * 1000, `s${i}`), open(19_000, 'last'))
    const r = checkInput(ev(rec, { hostile, client }))
    expect(r[1]!.status).toBe('fail')
    expect(r[1]!.summary).toMatch(/event 50 \(hostile\) delivered 4 times/)
  })
})

describe('auth/key-for-this-network', () => {
  it('skips without a bound key; passes on its network; fails on a network_mismatch', () => {
    expect(checkNetwork(ev([req(0)], undefined))[0]!.status).toBe('skip')
    expect(checkNetwork(ev([], { network: { bound: 'testnet' } }))[0]!.status).toBe('skip')
    expect(checkNetwork(ev([req(0, { network: 'testnet' } as Partial<RequestEntry>)], { network: { bound: 'testnet' } }))[0]!.status).toBe('pass')
    const r = checkNetwork(ev([req(0, { status: 403, auth: 'refused', code: 'network_mismatch', network: 'mainnet' } as Partial<RequestEntry>)], { network: { bound: 'testnet' } }))[0]!
    expect(r.status).toBe('fail')
    expect(r.summary).toMatch(/testnet key to another network.*X-Network mainnet/)
  })
})

describe('incident checks', () => {
  const S1 = 'key_SENTINELSENTINEL'
  const incident = { tenantId: 't1', revokedAtMs: T0 + 8000, keyIds: [OLD, S1], heartbeatMs: 1000 }

  it('skip without an incident', () => {
    for (const r of checkIncident(ev([req(0)], undefined, [OLD]))) expect(r.status).toBe('skip')
  })

  it('pass: every stream closed at once, every later attempt refused, the client stopped', () => {
    const rec = [open(0, 's1'), open(0, 's2', S1), req(7900), close(8001, 's1', OLD, 'revoked'), close(8002, 's2', S1, 'revoked'), req(8100, { status: 401, auth: 'refused' })]
    expect(checkIncident(ev(rec, { incident }, [OLD])).map((r) => r.status)).toEqual(['pass', 'pass', 'pass'])
  })

  it('fail: a stream closed after more than one heartbeat, a success after the revocation, a client that keeps going', () => {
    const after = Array.from({ length: INCIDENT_MAX_AFTER_REFUSAL + 1 }, (_, i) => req(8200 + i * 100, { status: 401, auth: 'refused' }))
    const rec = [open(0, 's1'), open(0, 's2', S1), req(7900), close(8001, 's1', OLD, 'revoked'), close(9500, 's2', S1), frame(8500, 's2', 70, S1), req(8100, { status: 401, auth: 'refused' }), req(8150, { keyId: S1 }), ...after]
    const [closed, nothing, stops] = checkIncident(ev(rec, { incident }, [OLD]))
    expect(closed!.summary).toMatch(/closed 1500 ms after the revocation, beyond one heartbeat/)
    expect(nothing!.violations.map((v) => v.message).join(' ')).toMatch(/succeeded after the revocation.*|event\(s\) sent after/)
    expect(nothing!.violations).toHaveLength(2)
    expect(stops!.status).toBe('fail')
  })
})

describe('audit trail and timeline', () => {
  it('one line per authentication attempt with key id, outcome, route and source, never a header; a timeline in time order', () => {
    const rec = [req(0, { ip: '127.0.0.1', network: 'testnet' } as Partial<RequestEntry>), req(100, { status: 401, auth: 'refused', code: 'revoked_api_key' }), { ...req(50), auth: null } as AnyEntry]
    const a = auditTrail(rec)
    expect(a).toHaveLength(2)
    expect(a[0]).toMatchObject({ keyId: OLD, outcome: 'ok', route: LIST, source: '127.0.0.1', network: 'testnet', status: 200 })
    expect(a[1]).toMatchObject({ outcome: 'refused', code: 'revoked_api_key' })
    expect(Object.keys(a[0]!).sort()).toEqual(['code', 'keyId', 'method', 'network', 'outcome', 'requestId', 'route', 'source', 'status', 'time'])
    const t = buildTimeline([{ at: T0 + 90, actor: 'harness', event: 'revoked' }], rec, a)
    expect(t.map((x) => x.at)).toEqual([...t.map((x) => x.at)].sort((x, y) => x - y))
    expect(t.map((x) => x.event).join('|')).toMatch(/first accepted attempt.*revoked.*first refusal: 401 revoked_api_key/)
  })
})
