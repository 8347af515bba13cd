// The audit trail of a run (seed: "Log all authentication attempts"; "Review audit logs"; "Document
// the incident timeline"): one line per authentication attempt, from the mock's record (contract
// 2.7, 7.3), and a timeline of what the harness did and how the client and the mock answered. Key
// ids, source addresses and codes only: the record never holds a secret.
import type { AnyEntry, RequestEntry, StreamEntry } from '../evidence.ts'

export interface AuditEntry {
  time: string
  keyId: string | null
  outcome: 'ok' | 'refused'
  code: string | null
  method: string
  route: string | null
  status: number
  /** The client's address as the mock saw it. */
  source: string | null
  network: string | null
  requestId: string
}

/** Every authentication attempt in the record slice, in order: requests the auth step judged. */
export function auditTrail (record: readonly AnyEntry[]): AuditEntry[] {
  const out: AuditEntry[] = []
  for (const e of record) {
    if (e.type !== 'request') continue
    const r = e as RequestEntry & { ip?: string | null, network?: string | null }
    if (r.auth !== 'ok' && r.auth !== 'refused') continue
    out.push({ time: new Date(r.ts - r.durationMs).toISOString(), keyId: r.keyId, outcome: r.auth, code: r.auth === 'refused' ? r.code : null, method: r.method, route: r.route, status: r.status, source: r.ip ?? null, network: r.network ?? null, requestId: r.requestId })
  }
  return out
}

export function auditNdjson (entries: readonly AuditEntry[]): string {
  return entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length > 0 ? '\n' : '')
}

export interface DrillTimelineEntry {
  /** Epoch ms. */
  at: number
  actor: 'harness' | 'client' | 'mock'
  event: string
  keyId?: string
}

/**
 * The incident timeline: the harness's own actions, then from the audit trail each key's first
 * accepted attempt, its first refusal (with the code), its last attempt and how many came after the
 * first refusal; the streams the mock closed on revocation; and the client's exit.
 */
export function buildTimeline (actions: readonly DrillTimelineEntry[], record: readonly AnyEntry[], audit: readonly AuditEntry[], harnessKeyIds: readonly string[] = []): DrillTimelineEntry[] {
  const harness = new Set(harnessKeyIds)
  const out: DrillTimelineEntry[] = [...actions]
  const byKey = new Map<string, AuditEntry[]>()
  for (const a of audit) {
    const k = a.keyId ?? '(no key)'
    byKey.set(k, [...byKey.get(k) ?? [], a])
  }
  for (const [keyId, list] of byKey) {
    if (harness.has(keyId)) {
      // The drill's own sentinel streams: when each opened is all the timeline needs.
      out.push({ at: Date.parse(list[0]!.time), actor: 'harness', event: `sentinel stream opened (${list[0]!.outcome} ${list[0]!.status})`, keyId })
      continue
    }
    const firstOk = list.find((a) => a.outcome === 'ok')
    const firstRefused = list.find((a) => a.outcome === 'refused')
    if (firstOk !== undefined) out.push({ at: Date.parse(firstOk.time), actor: 'client', event: `first accepted attempt (${firstOk.method} ${firstOk.route ?? '?'})`, keyId })
    if (firstRefused !== undefined) {
      const after = list.filter((a) => a.time >= firstRefused.time).length - 1
      out.push({ at: Date.parse(firstRefused.time), actor: 'mock', event: `first refusal: ${firstRefused.status} ${firstRefused.code ?? ''} (${firstRefused.method} ${firstRefused.route ?? '?'}); ${after} more attempts after it`, keyId })
    }
    const last = list[list.length - 1]!
    if (list.length > 1) out.push({ at: Date.parse(last.time), actor: 'client', event: `last attempt: ${last.outcome} ${last.status} (${list.length} in all)`, keyId })
  }
  for (const e of record) {
    if (e.type === 'stream' && (e as StreamEntry).phase === 'close' && (e as StreamEntry).reason === 'revoked') {
      const s = e as StreamEntry
      out.push({ at: s.ts, actor: 'mock', event: `stream ${s.streamId} closed: key revoked`, keyId: s.keyId })
    }
  }
  return out.sort((a, b) => a.at - b.at)
}
