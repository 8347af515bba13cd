// Idempotency: do concurrent duplicates with one X-Idempotency-Key make one resource (contract 6.1)?
// Each iteration fires DUPLICATES identical wallet creations at once with one key; exactly one may
// create, every other gets 409 idempotency_in_progress or the replayed 201; then a late retry replays,
// another body with the key is 422, and the wallet list shows the wallet once.
//
//   BASE_URL=http://127.0.0.1:4010 CONTROL_URL=http://127.0.0.1:4010 k6 run scenarios/idempotency.ts
import { check, sleep } from 'k6'
import exec from 'k6/execution'
import { Counter } from 'k6/metrics'
import type { Options } from 'k6/options'
import { countLimit, createWallet, listWallets, walletCreateSpec } from './lib/api.ts'
import type { Credentials, WalletInput } from './lib/api.ts'
import { budgetMs, intFromEnv, readConfig } from './lib/config.ts'
import { errorOf, json, randomHex, sendBatch } from './lib/http.ts'
import type { Response } from './lib/http.ts'
import { SYSTEM_TAGS, TREND_STATS } from './lib/options.ts'
import { header, parseRetryAfter } from './lib/rate-limit.ts'
import { acquireCredentials, targetOf } from './lib/setup.ts'
import { summaryOutputs } from './lib/summary.ts'
import type { SummaryData } from './lib/summary.ts'

const cfg = readConfig(__ENV, { profile: 'full', profiles: ['smoke', 'full'] })
const target = targetOf(cfg)
const smoke = cfg.profile === 'smoke'
const VUS = intFromEnv(__ENV, 'VUS', smoke ? 1 : 5, 1, 1000)
const ITERATIONS = intFromEnv(__ENV, 'ITERATIONS', smoke ? 2 : 10, 1, 100000)
const DUPLICATES = intFromEnv(__ENV, 'DUPLICATES', smoke ? 3 : 8, 2, 100)

/** Wallets beyond one per idempotency key: the number that must stay 0. */
const extraResources = new Counter('idem_extra_resources')
/** Idempotency keys fully checked (the scenario did its job). */
const keysChecked = new Counter('idem_keys_checked')
/** 409 idempotency_in_progress answers: the duplicates that overlapped the first request. */
const inProgress = new Counter('idem_in_progress')
/** 201 answers carrying Idempotent-Replayed: true. */
const replays = new Counter('idem_replays')

export const options: Options = {
  scenarios: {
    duplicates: { executor: 'per-vu-iterations', vus: VUS, iterations: ITERATIONS, maxDuration: smoke ? '45s' : '10m' }
  },
  // Let all duplicates of a burst leave at once.
  batch: DUPLICATES,
  batchPerHost: DUPLICATES,
  thresholds: {
    idem_extra_resources: ['count==0'],
    idem_keys_checked: ['count>0'],
    checks: ['rate==1'],
    http_req_failed: ['rate==0'],
    rate_limited_responses: ['rate==0'],
    'http_req_duration{name:POST /api/wallet/create}': [`p(95)<${budgetMs(cfg, 1000)}`]
  },
  systemTags: SYSTEM_TAGS,
  summaryTrendStats: TREND_STATS,
  setupTimeout: '30s'
}

export function setup (): { cred: Credentials } {
  // A key made here gets room for every request of the run; a given API_KEY must have it (rate_limited_responses says).
  return { cred: acquireCredentials(cfg, { rateLimit: 100000 }).cred }
}

const CREATE_EXPECTED = [201, 409, 422, 429]

function walletId (r: Response): string | undefined {
  const id = (json(r) as { data?: { id?: unknown } } | undefined)?.data?.id
  return typeof id === 'string' ? id : undefined
}

const replayed = (r: Response) => header(r.headers, 'Idempotent-Replayed') === 'true'

export default function (data: { cred: Credentials }): void {
  const cred = data.cred
  extraResources.add(0)
  const tag = randomHex(6)
  const body: WalletInput = { name: `k6 idem ${exec.vu.idInTest}-${exec.vu.iterationInScenario}-${tag}`, type: 'mpc', chain: 'ethereum' }
  const key = `k6-idem-${randomHex(16)}`

  const burst = sendBatch(Array.from({ length: DUPLICATES }, () => walletCreateSpec(target, cred, body, key, CREATE_EXPECTED))).map(countLimit)
  const fresh = burst.filter((r) => r.status === 201 && !replayed(r))
  const replayedOnes = burst.filter((r) => r.status === 201 && replayed(r))
  const busy = burst.filter((r) => r.status === 409)
  inProgress.add(busy.length)
  replays.add(replayedOnes.length)
  const ids = new Set<string>()
  for (const r of fresh.concat(replayedOnes)) { const id = walletId(r); if (id !== undefined) ids.add(id) }
  check(burst, {
    'exactly one of the concurrent duplicates creates the wallet (contract 6.1)': () => fresh.length === 1,
    'every other duplicate gets 409 idempotency_in_progress or the replayed 201 (contract 6.1)': () => busy.every((r) => errorOf(r).code === 'idempotency_in_progress') && fresh.length + replayedOnes.length + busy.length === burst.length,
    'every 201 of the burst names the same wallet (contract 6.1)': () => ids.size === 1
  })

  // A late retry, once the first request is done: the stored answer again (6.1).
  let late = createWallet(target, cred, body, key, CREATE_EXPECTED)
  for (let n = 0; n < 5 && late.status === 409; n++) {
    sleep(parseRetryAfter(header(late.headers, 'Retry-After')) ?? 0.2)
    late = createWallet(target, cred, body, key, CREATE_EXPECTED)
  }
  const lateId = walletId(late)
  if (lateId !== undefined) ids.add(lateId)
  check(late, {
    'a retry after the burst replays the same wallet with Idempotent-Replayed: true (contract 6.1)': (r) => r.status === 201 && replayed(r) && ids.size === 1
  })
  check(createWallet(target, cred, { ...body, chain: 'bitcoin' }, key, CREATE_EXPECTED), {
    'the key with another body is 422 idempotency_key_reused (contract 6.1)': (r) => r.status === 422 && errorOf(r).code === 'idempotency_key_reused'
  })

  // Count the resource itself: newest first (3.2), so a few pages reach it even with other VUs writing.
  let listed = 0
  let cursor: string | undefined
  for (let page = 0; page < 3; page++) {
    const res = listWallets(target, cred, cursor === undefined ? { limit: 100 } : { limit: 100, cursor }, [200, 429])
    const b = json(res) as { data?: Array<{ name?: string }>, meta?: { cursor?: unknown, hasMore?: unknown } } | undefined
    listed += (b?.data ?? []).filter((w) => w.name === body.name).length
    if (res.status !== 200 || b?.meta?.hasMore !== true || typeof b.meta.cursor !== 'string') break
    cursor = b.meta.cursor
  }
  check(listed, { 'the wallet list holds exactly one wallet for the key (contract 6.1)': (n) => n === 1 })
  extraResources.add(Math.max(0, ids.size - 1, listed - 1))
  keysChecked.add(1)
}

export function handleSummary (data: SummaryData): Record<string, string> {
  return summaryOutputs('idempotency', data, { declared: options.thresholds, profile: cfg.profile, dir: cfg.summaryDir, generatedAt: new Date().toISOString() })
}
