// A drill profile's actions during one session (drills/spec.ts): the key file and its rotation, the
// hostile payloads, the network binding, the tenant-wide revocation and the sentinel streams. The
// session calls prepare() before the client starts, start() when the profile's clock starts, stop()
// once the client has ended, then setup() and timeline() for the evidence and the report.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Control } from '../control.ts'
import type { DrillSetup } from '../evidence.ts'
import type { DrillSpec } from './spec.ts'
import type { DrillTimelineEntry } from './audit.ts'

/** Request ids of the harness's own sentinel streams: never the client's. */
export const SENTINEL_REQUEST_PREFIX = 'harness-sentinel-'

export interface DrillContext {
  spec: DrillSpec | undefined
  control: Control
  baseUrl: string
  tenant: { id: string, slug: string }
  key: { id: string, key: string }
  keyRateLimit: number | undefined
  heartbeatMs: number
  progress: (line: string) => void
}

/** Write the key file as a secret manager swaps a mounted one: a new file renamed over the old. */
function writeKeyFile (path: string, key: string): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, key + '\n', { mode: 0o600 })
  renameSync(tmp, path)
}

export async function prepareDrills (c: DrillContext) {
  const spec = c.spec ?? {}
  const actions: DrillTimelineEntry[] = []
  const timers: NodeJS.Timeout[] = []
  const extraKeys: Array<{ id: string, key: string }> = []
  const env: Record<string, string> = {}
  const setup: DrillSetup = {}
  const note = (event: string, keyId?: string) => {
    actions.push({ at: Date.now(), actor: 'harness', event, ...(keyId === undefined ? {} : { keyId }) })
    c.progress(event)
  }
  const failed = (what: string) => (err: unknown) => note(`${what} failed: ${(err as Error).message}`)

  let keyDir: string | undefined
  let keyFile: string | undefined
  if (spec.rotation !== undefined) {
    keyDir = mkdtempSync(join(tmpdir(), 'tenzro-key-'))
    keyFile = join(keyDir, 'api-key')
    writeKeyFile(keyFile, c.key.key)
    env.TENZRO_API_KEY_FILE = keyFile
  }
  if (spec.network !== undefined) {
    env.TENZRO_NETWORK = spec.network
    setup.network = { bound: spec.network }
  }

  // Sentinels: the tenant's other services, each on its own key with a stream open, so the drill
  // sees whether every stream of the tenant closes, not only the client's.
  const sentinels: AbortController[] = []
  const sentinelKeyIds: string[] = []
  async function openSentinel (i: number): Promise<void> {
    const k = await c.control.createKey({ tenant: c.tenant.id, ...(c.keyRateLimit === undefined ? {} : { rateLimit: c.keyRateLimit }), ...(spec.network === undefined ? {} : { network: spec.network }) })
    sentinelKeyIds.push(k.id)
    const ac = new AbortController()
    sentinels.push(ac)
    const headers: Record<string, string> = { 'x-api-key': k.key, 'x-tenant-id': c.tenant.id, accept: 'text/event-stream', 'x-request-id': `${SENTINEL_REQUEST_PREFIX}${i}` }
    if (spec.network !== undefined) headers['x-network'] = spec.network
    const res = await fetch(`${c.baseUrl}/api/events/stream`, { headers, signal: ac.signal })
    // Read until the mock closes it; the record shows when (and why) it did.
    void (async () => {
      try { for await (const _ of res.body ?? []) { /* drain */ } } catch { /* aborted at the end */ }
    })()
  }
  if (spec.incident !== undefined) {
    for (let i = 0; i < spec.incident.sentinels; i++) await openSentinel(i)
    if (spec.incident.sentinels > 0) note(`${spec.incident.sentinels} sentinel stream(s) open on other keys of the tenant`)
  }

  return {
    env,
    /** Keys the client may use besides its first: the rotated one. */
    get clientKeyIds (): string[] { return extraKeys.map((k) => k.id) },
    /** Every full key handed to the client: all are canaries. */
    get canaries (): string[] { return extraKeys.map((k) => k.key) },
    start (): void {
      const r = spec.rotation
      if (r !== undefined) {
        timers.push(setTimeout(() => {
          c.control.createKey({ tenant: c.tenant.id, ...(c.keyRateLimit === undefined ? {} : { rateLimit: c.keyRateLimit }), ...(spec.network === undefined ? {} : { network: spec.network }) }).then((k) => {
            extraKeys.push(k)
            writeKeyFile(keyFile!, k.key)
            const rotatedAtMs = Date.now()
            setup.rotation = { oldKeyId: c.key.id, newKeyId: k.id, rotatedAtMs, graceMs: r.graceS * 1000 }
            note(`new key issued and written to TENZRO_API_KEY_FILE; the old key is revoked in ${r.graceS} s`, k.id)
            timers.push(setTimeout(() => {
              c.control.revokeKey(c.key.id).then((k) => {
                setup.rotation!.revokedAtMs = Date.parse(k.revokedAt)
                note('old key revoked (its streams close)', c.key.id)
              }, failed('revoking the old key'))
            }, r.graceS * 1000))
          }, failed('issuing the new key'))
        }, r.atS * 1000))
      }
      if (spec.hostileAtS !== undefined) {
        timers.push(setTimeout(() => {
          const atMs = Date.now()
          c.control.injectHostile(c.tenant.id).then((h) => {
            setup.hostile = { atMs, eventIds: h.events.map((e) => e.seq), walletIds: h.wallets.map((w) => w.id) }
            note(`hostile payloads injected: ${h.events.length} events (ids ${h.events[0]?.seq ?? '-'}..${h.events[h.events.length - 1]?.seq ?? '-'}), ${h.wallets.length} wallets`)
          }, failed('injecting hostile payloads'))
        }, spec.hostileAtS * 1000))
      }
      const inc = spec.incident
      if (inc !== undefined) {
        timers.push(setTimeout(() => {
          c.control.revokeTenantKeys(c.tenant.id).then((r) => {
            // The mock's own revocation time: what its record's timestamps are compared with.
            const revokedAtMs = r.revoked.length > 0 ? Date.parse(r.revoked[0]!.revokedAt) : Date.now()
            setup.incident = { tenantId: c.tenant.id, revokedAtMs, keyIds: r.revoked.map((k) => k.id), heartbeatMs: c.heartbeatMs }
            note(`incident: every key of the tenant revoked at once (${r.revoked.length} keys)`)
          }, failed('revoking every key of the tenant'))
        }, inc.atS * 1000))
      }
    },
    async stop (): Promise<void> {
      for (const t of timers) clearTimeout(t)
      for (const s of sentinels) s.abort()
      if (keyDir !== undefined) rmSync(keyDir, { recursive: true, force: true })
    },
    setup (client: DrillSetup['client']): DrillSetup | undefined {
      if (c.spec === undefined) return undefined
      return { ...setup, ...(client === undefined ? {} : { client }) }
    },
    actions (): DrillTimelineEntry[] { return actions },
    sentinelKeyIds
  }
}

export type DrillRuntime = Awaited<ReturnType<typeof prepareDrills>>
