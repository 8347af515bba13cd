// TLS verdicts (seed: "Use HTTPS endpoints only"; "TLS 1.2 or higher is required"), judged from the
// record entries of the mock's TLS faults (mock-server plugins/tls-faults.ts): while a fault is on,
// each handshake the client refused is a `refused` entry, and each connection it used anyway shows
// as a `request` entry (the first request on that connection).
import type { Evidence } from '../evidence.ts'
import { skip, verdict, type CheckResult, type Violation } from './types.ts'

interface TlsFaultEntry { seq: number, type: 'fault', ts: number, fault: string, tlsFault?: string, phase?: string, protocol?: string, requestId?: string, method?: string, route?: string | null, reason?: string }

function judge (e: Evidence, kind: 'tls-untrusted' | 'tls-downgrade', id: string, title: string, what: string): CheckResult {
  const entries = e.record.filter((x): x is TlsFaultEntry => x.type === 'fault' && (x as TlsFaultEntry).tlsFault === kind)
  if (!entries.some((x) => x.phase === 'start')) return skip(id, title, `no ${kind} fault in this run: use verify --profile tls`)
  const refused = entries.filter((x) => x.phase === 'refused')
  const used = entries.filter((x) => x.phase === 'request')
  if (refused.length === 0 && used.length === 0) return skip(id, title, `the client opened no connection while ${what} was offered, so there is nothing to judge`, { handshakes: 0 })
  const violations: Violation[] = used.map((x) => ({
    message: `${x.method ?? 'a request'} ${x.route ?? ''} was sent over a connection with ${what} (${x.protocol ?? 'TLS'}): the client does not ${kind === 'tls-untrusted' ? 'verify certificates' : 'refuse TLS below 1.2'}`.replace(/ {2}/g, ' '),
    at: x.ts,
    ...(x.requestId === undefined ? {} : { requestId: x.requestId })
  }))
  return verdict(id, title, violations, { refusedHandshakes: refused.length, requestsOverFaultyConnections: used.length, reasons: [...new Set(refused.map((x) => x.reason))] },
    `refused ${refused.length} handshake(s) with ${what}`)
}

export function checkTls (e: Evidence): CheckResult[] {
  return [
    judge(e, 'tls-untrusted', 'tls/verifies-certificates', 'The client verifies the server certificate', 'a certificate from an unknown CA'),
    judge(e, 'tls-downgrade', 'tls/refuses-old-protocols', 'The client refuses TLS 1.0 and 1.1', 'only TLS 1.0/1.1')
  ]
}
