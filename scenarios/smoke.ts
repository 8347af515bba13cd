// Smoke: does every endpoint answer as the contract says? One VU, one pass over every endpoint, every
// check. Run it first against a new mock build or a new Tenzro environment.
//
//   BASE_URL=http://127.0.0.1:4010 CONTROL_URL=http://127.0.0.1:4010 k6 run scenarios/smoke.ts
//   BASE_URL=https://api.platform.tenzro.com API_KEY=tnz_... k6 run scenarios/smoke.ts
import { check, group } from 'k6'
import type { Options } from 'k6/options'
import { createWallet, ctlPublishEvent, eventsHealth, health, listWallets, openStream, validateKey } from './lib/api.ts'
import type { Credentials, WalletInput } from './lib/api.ts'
import { budgetMs, intFromEnv, readConfig } from './lib/config.ts'
import { errorOf, json, traceparent } from './lib/http.ts'
import type { Response } from './lib/http.ts'
import { sseDuplicates, sseGaps, sseOutOfOrder } from './lib/metrics.ts'
import { SYSTEM_TAGS, TREND_STATS } from './lib/options.ts'
import { header } from './lib/rate-limit.ts'
import { acquireCredentials, controlOf, controlOk, installFaults, restoreFaults, targetOf } from './lib/setup.ts'
import type { FaultPlan } from './lib/setup.ts'
import { readStream, readWithReconnects, sequenceOf } from './lib/stream.ts'
import { summaryOutputs } from './lib/summary.ts'
import type { SummaryData } from './lib/summary.ts'

const cfg = readConfig(__ENV, { profile: 'smoke', profiles: ['smoke'] })
const target = targetOf(cfg)
const SUBJECT = 'ledger.entry.created'
/** How long the mock keeps this run's streams open at most (sse-drop afterMs, contract 7.2). */
const DROP_AFTER_MS = intFromEnv(__ENV, 'DROP_AFTER_MS', 3000, 100, 60000)

export const options: Options = {
  scenarios: {
    smoke: { executor: 'shared-iterations', vus: 1, iterations: 1, maxDuration: '45s' }
  },
  thresholds: {
    checks: ['rate==1'],
    http_req_failed: ['rate==0'],
    rate_limited_responses: ['rate==0'],
    'http_req_duration{name:GET /health}': [`p(95)<${budgetMs(cfg, 500)}`],
    'http_req_duration{name:GET /api/wallet/list}': [`p(95)<${budgetMs(cfg, 1000)}`],
    'http_req_duration{name:POST /api/wallet/create}': [`p(95)<${budgetMs(cfg, 1000)}`],
    sse_gaps: ['count==0'],
    sse_duplicates: ['count==0'],
    sse_out_of_order: ['count==0']
  },
  systemTags: SYSTEM_TAGS,
  summaryTrendStats: TREND_STATS,
  setupTimeout: '30s',
  teardownTimeout: '30s'
}

interface SetupData {
  cred: Credentials
  tenantIds: string[]
  previous: FaultPlan | undefined
  control: boolean
}

export function setup (): SetupData {
  const { cred, info, created } = acquireCredentials(cfg)
  const tenantIds = [cred.tenantId]
  if (info.tenantId !== undefined) tenantIds.push(info.tenantId)
  if (created !== undefined) tenantIds.push(created.tenant.slug)
  const ctl = controlOf(cfg)
  let previous: FaultPlan | undefined
  if (ctl !== undefined) {
    // Stock k6 reads a stream body only once the server ends it: the mock ends this tenant's streams
    // after 2 events or 3 s (contract 7.2). Other tenants are untouched; teardown restores the plan.
    previous = installFaults(ctl, [{ id: 'k6-smoke-sse-drop', type: 'sse-drop', afterEvents: 2, afterMs: DROP_AFTER_MS, scope: { tenant: cred.tenantId } }])
  }
  return { cred, tenantIds, previous, control: ctl !== undefined }
}

function envelopeOk (res: Response): boolean {
  const b = json(res) as { data?: unknown, meta?: { requestId?: unknown, timestamp?: unknown } } | undefined
  return b !== undefined && b.data !== undefined && typeof b.meta?.requestId === 'string' && typeof b.meta.timestamp === 'string'
}

function rateHeadersOk (res: Response): boolean {
  return ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'].every((h) => /^\d+$/.test(header(res.headers, h) ?? ''))
}

const WALLET_ID = /^wal_[A-Za-z0-9_-]{16}$/
const ADDRESS: Record<string, RegExp> = {
  ethereum: /^0x[0-9a-fA-F]{40}$/,
  solana: /^[1-9A-HJ-NP-Za-km-z]{32,44}$/,
  bitcoin: /^bc1q[02-9ac-hj-np-z]{38,58}$/
}

function walletOk (w: unknown): boolean {
  const x = w as Record<string, unknown> | undefined
  if (x === undefined || x === null) return false
  const re = ADDRESS[String(x.chain)]
  return typeof x.id === 'string' && WALLET_ID.test(x.id) && typeof x.name === 'string' &&
    ['mpc', 'multi-sig', 'single'].includes(String(x.type)) && re !== undefined && re.test(String(x.address)) &&
    typeof x.createdAt === 'string'
}

export default function (data: SetupData): void {
  const cred = data.cred
  sseGaps.add(0)
  sseDuplicates.add(0)
  sseOutOfOrder.add(0)

  group('health', () => {
    const h = health(target)
    check(h, {
      'GET /health answers 200 {data: {status: ok}} (contract 1.7)': (r) => r.status === 200 && (json(r) as { data?: { status?: unknown } } | undefined)?.data?.status === 'ok',
      'every response carries X-Request-Id and X-API-Version: 1 (contract 1.3)': (r) => (header(r.headers, 'X-Request-Id') ?? '') !== '' && header(r.headers, 'X-API-Version') === '1'
    })
    check(eventsHealth(target), {
      'GET /api/events/health answers 200 {data: {status: ok}} (contract 1.7)': (r) => r.status === 200 && (json(r) as { data?: { status?: unknown } } | undefined)?.data?.status === 'ok'
    })
  })

  group('keys', () => {
    // tnz_<tenant>_<secret> (contract 2.1): the tenant has no '_', but a base64url secret may.
    const secret = cred.apiKey.slice(cred.apiKey.indexOf('_', 4) + 1)
    check(validateKey(target, cred), {
      'GET /api/keys/validate answers {valid: true, tenantId, scopes, rateLimit} (contract 2.6)': (r) => {
        const b = json(r) as { valid?: unknown, tenantId?: unknown, scopes?: unknown, rateLimit?: { limit?: unknown, remaining?: unknown } } | undefined
        return r.status === 200 && b?.valid === true && typeof b.tenantId === 'string' && Array.isArray(b.scopes) && typeof b.rateLimit?.limit === 'number' && typeof b.rateLimit.remaining === 'number'
      },
      'the validation answer never contains the key secret (contract 1.5)': (r) => typeof r.body === 'string' && secret.length > 8 && r.body.indexOf(secret) === -1,
      'authenticated answers carry X-RateLimit-Limit/Remaining/Reset (contract 5.2)': (r) => rateHeadersOk(r)
    })
  })

  group('wallets', () => {
    const first = listWallets(target, cred, { limit: 2 })
    const page = json(first) as { data?: unknown[], meta?: { cursor?: unknown, hasMore?: unknown } } | undefined
    check(first, {
      'GET /api/wallet/list answers 200 with the list envelope (contract 1.4, 3.2)': (r) => r.status === 200 && envelopeOk(r) && Array.isArray(page?.data) && typeof page?.meta?.hasMore === 'boolean' && (typeof page.meta.cursor === 'string' || page.meta.cursor === null),
      'limit=2 returns at most 2 wallets, each well formed (contract 3.1, 3.2)': () => Array.isArray(page?.data) && page.data.length <= 2 && page.data.every(walletOk),
      'authenticated answers carry X-RateLimit-Limit/Remaining/Reset (contract 5.2)': (r) => rateHeadersOk(r)
    })
    const cursor = page?.meta?.cursor
    if (typeof cursor === 'string') {
      const next = listWallets(target, cred, { limit: 2, cursor })
      const ids = new Set((page?.data ?? []).map((w) => (w as { id?: string }).id))
      check(next, {
        'the cursor returns the next page without repeating a wallet (contract 3.2)': (r) => r.status === 200 && ((json(r) as { data?: Array<{ id?: string }> } | undefined)?.data ?? []).every((w) => !ids.has(w.id))
      })
    }
    check(listWallets(target, cred, { cursor: 'not-a-cursor' }, [400]), {
      'a cursor the server did not issue is 400 validation_error on field cursor (contract 3.2)': (r) => r.status === 400 && errorOf(r).code === 'validation_error' && errorOf(r).details.some((d) => d.field === 'cursor')
    })

    const suffix = traceparent().slice(3, 15)
    const body: WalletInput = { name: `k6 smoke ${suffix}`, type: 'mpc', chain: 'ethereum' }
    const idem = `k6-smoke-${suffix}`
    const made = createWallet(target, cred, body, idem, [201])
    const wallet = (json(made) as { data?: { id?: string, name?: string } } | undefined)?.data
    check(made, {
      'POST /api/wallet/create answers 201 with the wallet (contract 3.3)': (r) => r.status === 201 && envelopeOk(r) && walletOk(wallet) && wallet?.name === body.name
    })
    const replay = createWallet(target, cred, body, idem, [201])
    check(replay, {
      'the same X-Idempotency-Key and body replays the first answer with Idempotent-Replayed: true (contract 6.1)': (r) => r.status === 201 && header(r.headers, 'Idempotent-Replayed') === 'true' && (json(r) as { data?: { id?: string } } | undefined)?.data?.id === wallet?.id
    })
    check(createWallet(target, cred, { ...body, chain: 'solana' }, idem, [422]), {
      'the same X-Idempotency-Key with another body is 422 idempotency_key_reused (contract 6.1)': (r) => r.status === 422 && errorOf(r).code === 'idempotency_key_reused'
    })
    check(listWallets(target, cred, { limit: 100 }), {
      'the new wallet is listed, once (contract 3.2, 6.1)': (r) => ((json(r) as { data?: Array<{ id?: string }> } | undefined)?.data ?? []).filter((w) => w.id === wallet?.id).length === 1
    })
  })

  group('events', () => {
    check(openStream(target, cred, { lastEventIdQuery: 'not-a-number', timeoutMs: 10000, expected: [400] }), {
      'a non-numeric last_event_id is 400 validation_error (contract 4.2)': (r) => r.status === 400 && errorOf(r).code === 'validation_error'
    })
    if (!data.control) {
      // Without the control API nothing ends the stream but the client timeout (DROP_AFTER_MS); k6
      // keeps what arrived (status 0, the body so far): enough to see the stream open (README.md).
      const res = openStream(target, cred, { timeoutMs: DROP_AFTER_MS, expected: [0, 200] })
      check(readStream(res), { 'the event stream opens with retry: <ms> (contract 4.1, 4.3)': (r) => r.kind === 'read' })
      return
    }
    const ctl = controlOf(cfg)!
    const seqs: number[] = []
    for (let n = 0; n < 2; n++) {
      const seq = sequenceOf(controlOk(ctlPublishEvent(ctl, cred.tenantId, SUBJECT, { k6: 'smoke', n }), 'publish an event', ctl))
      if (seq !== undefined) seqs.push(seq)
    }
    check(seqs, { 'POST /__harness/events answers the stored event with its sequence (contract 7.4)': (s) => s.length === 2 && s[1]! > s[0]! })
    if (seqs.length === 0) return
    const r = readWithReconnects(target, cred, {
      subjects: SUBJECT,
      startAfter: Math.min(...seqs) - 1,
      expected: seqs,
      timeoutMs: DROP_AFTER_MS + 7000,
      maxConnections: 3,
      reconnectDelayMs: undefined,
      tenantIds: data.tenantIds
    })
    check(r, { 'the stream replays every event after last_event_id (contract 4.4)': (x) => x.missing.length === 0 })
  })
}

export function teardown (data: SetupData): void {
  const ctl = controlOf(cfg)
  if (data.control && ctl !== undefined) restoreFaults(ctl, data.previous)
}

export function handleSummary (data: SummaryData): Record<string, string> {
  return summaryOutputs('smoke', data, { declared: options.thresholds, profile: cfg.profile, dir: cfg.summaryDir, generatedAt: new Date().toISOString() })
}
