// A client of the mock's control API (contract 7.4), used the same way for the embedded mock and for
// a running one (--target). Errors carry the status and the envelope's code, never a key.
import type { FaultPlanInput } from '../../mock-server/src/domain/fault-plan.ts'
import type { AnyEntry } from './evidence.ts'

export class ControlError extends Error {
  readonly code: string
  readonly status: number
  constructor (message: string, code: string, status: number) {
    super(message)
    this.name = 'ControlError'
    this.code = code
    this.status = status
  }
}

export function createControl (baseUrl: string, token?: string) {
  const base = baseUrl.replace(/\/+$/, '')
  const headers = (json: boolean): Record<string, string> => ({ ...(json ? { 'content-type': 'application/json' } : {}), ...(token === undefined ? {} : { 'x-harness-token': token }) })

  async function call<T> (method: string, path: string, body?: unknown): Promise<T> {
    let res: Response
    try {
      res = await fetch(base + path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000) })
    } catch (err) {
      throw new ControlError(`cannot reach the mock's control API at ${base}: ${(err as Error).message}`, 'target_unreachable', 0)
    }
    const text = await res.text()
    if (!res.ok) {
      let code = 'control_error'
      let message = text.slice(0, 200)
      try {
        const e = JSON.parse(text) as { error?: { code?: string, message?: string, details?: Array<{ field: string, message: string }> } }
        code = e.error?.code ?? code
        message = [e.error?.message, ...(e.error?.details ?? []).map((d) => `${d.field}: ${d.message}`)].filter(Boolean).join('; ')
      } catch { /* not JSON */ }
      throw new ControlError(`${method} ${path} answered ${res.status} ${code}: ${message}`, code, res.status)
    }
    return (path.startsWith('/__harness/record?') || path === '/__harness/record') ? text as T : (JSON.parse(text) as { data: T }).data
  }

  return {
    url: base,
    async health (): Promise<void> {
      await call('GET', '/health')
    },
    createTenant (input: { slug?: string, rateLimit?: number, scopes?: string[], network?: string } = {}) {
      return call<{ tenant: { id: string, slug: string }, key: { id: string, key: string } }>('POST', '/__harness/tenants', input)
    },
    createKey (input: { tenant: string, scopes?: string[], rateLimit?: number, expiresAt?: string, network?: string }) {
      return call<{ id: string, key: string }>('POST', '/__harness/keys', input)
    },
    revokeKey (id: string) {
      return call<{ id: string, revokedAt: string }>('DELETE', `/__harness/keys/${encodeURIComponent(id)}`)
    },
    /** Every live key of the tenant revoked in one step (incident drill). */
    revokeTenantKeys (tenant: string) {
      return call<{ tenant: string, revoked: Array<{ id: string, revokedAt: string }> }>('POST', `/__harness/tenants/${encodeURIComponent(tenant)}/revoke-keys`, {})
    },
    /** The hostile drill's events and wallets, published for the tenant. */
    injectHostile (tenant: string, input: { events?: boolean, wallets?: boolean } = {}) {
      return call<{ tenant: string, events: Array<{ seq: number, type: string, kind: string }>, wallets: Array<{ id: string, kind: string }> }>('POST', `/__harness/tenants/${encodeURIComponent(tenant)}/hostile`, input)
    },
    setFaults (plan: FaultPlanInput) {
      return call<FaultPlanInput>('PUT', '/__harness/faults', plan)
    },
    /** The plan with per-fault counters: `applied` is how often each fault matched. */
    faults () {
      return call<{ seed: number, faults: FaultPlanInput['faults'], stats: Array<{ id: string, type: string, seen: number, applied: number }> }>('GET', '/__harness/faults')
    },
    clearFaults () {
      return call<Record<string, never>>('DELETE', '/__harness/faults')
    },
    recordStats () {
      return call<{ lastSeq: number, retained: number, dropped: number }>('GET', '/__harness/record/stats')
    },
    async record (after = 0): Promise<AnyEntry[]> {
      const text = await call<string>('GET', `/__harness/record?after=${after}`)
      const out: AnyEntry[] = []
      for (const line of text.split('\n')) if (line.length > 0) out.push(JSON.parse(line) as AnyEntry)
      return out
    }
  }
}

export type Control = ReturnType<typeof createControl>
