// Load: how do the wallet and key endpoints hold up under an open arrival rate? PROFILE picks the
// shape (lib/profiles.ts): smoke, average (default), stress, spike, soak. Each iteration is one API
// request; the mix is deterministic from the iteration number: WRITE_SHARE creates (default 10 %),
// 5 % key validations, the rest list wallets, walking the cursor like a client paging through.
//
//   BASE_URL=http://127.0.0.1:4010 CONTROL_URL=http://127.0.0.1:4010 PROFILE=stress k6 run scenarios/load.ts
import { check } from 'k6'
import exec from 'k6/execution'
import type { Options } from 'k6/options'
import { createWallet, listWallets, validateKey } from './lib/api.ts'
import type { Credentials, WalletInput } from './lib/api.ts'
import { budgetMs, numberFromEnv, parseKeyList, readConfig } from './lib/config.ts'
import { json, randomHex } from './lib/http.ts'
import { SYSTEM_TAGS, TREND_STATS } from './lib/options.ts'
import { LOAD_PROFILES, loadPlan, parseDuration } from './lib/profiles.ts'
import type { LoadProfile } from './lib/profiles.ts'
import { acquireCredentials, checkKey, checkTarget, targetOf } from './lib/setup.ts'
import { summaryOutputs } from './lib/summary.ts'
import type { SummaryData } from './lib/summary.ts'

const cfg = readConfig(__ENV, { profile: 'average', profiles: LOAD_PROFILES })
const target = targetOf(cfg)
const soak = __ENV.SOAK_DURATION || '2h'
parseDuration(soak)
const plan = loadPlan(cfg.profile as LoadProfile, numberFromEnv(__ENV, 'SCALE', 1, 0.01, 100), soak)
const WRITE_SHARE = numberFromEnv(__ENV, 'WRITE_SHARE', 0.1, 0, 0.95)
const VALIDATE_SHARE = 0.05
const keyList = parseKeyList(__ENV.API_KEYS)
const TYPES: Array<WalletInput['type']> = ['mpc', 'multi-sig', 'single']
const CHAINS: Array<WalletInput['chain']> = ['ethereum', 'solana', 'bitcoin']

export const options: Options = {
  scenarios: { [cfg.profile]: plan.scenario },
  thresholds: {
    // Server errors and unexpected answers; 429 is counted apart, below.
    http_req_failed: ['rate<0.01'],
    // A throttled load test measures the limiter, not the API: spread over API_KEYS or lower SCALE.
    rate_limited_responses: ['rate<0.01'],
    checks: ['rate>0.99'],
    'http_req_duration{name:GET /api/wallet/list}': [`p(95)<${budgetMs(cfg, 300)}`, `p(99)<${budgetMs(cfg, 1000)}`],
    'http_req_duration{name:POST /api/wallet/create}': [`p(95)<${budgetMs(cfg, 500)}`, `p(99)<${budgetMs(cfg, 1500)}`],
    'http_req_duration{name:GET /api/keys/validate}': [`p(95)<${budgetMs(cfg, 300)}`],
    // An open model that cannot start its iterations on time under-reports the load: at most 1 %.
    dropped_iterations: [`count<${Math.max(1, Math.ceil(plan.plannedIterations * 0.01))}`]
  },
  systemTags: SYSTEM_TAGS,
  summaryTrendStats: TREND_STATS,
  setupTimeout: '60s'
}

interface SetupData {
  creds: Credentials[]
}

export function setup (): SetupData {
  console.info(`load ${cfg.profile}: ${plan.plannedIterations} requests over ${plan.durationS}s, peak ${plan.peakRate}/s, ${Math.round(WRITE_SHARE * 100)}% writes`)
  if (keyList.length > 0) {
    checkTarget(cfg)
    for (const c of keyList) checkKey(cfg, c)
    return { creds: keyList }
  }
  // A key made for this run gets a limit it cannot reach: this scenario measures the API, the
  // rate-limit probe measures the limiter.
  const { cred } = acquireCredentials(cfg, { rateLimit: 1000000000 })
  return { creds: [cred] }
}

// Per VU (each VU has its own JS runtime): where this VU's paging walk stands.
let cursor: string | undefined

export default function (data: SetupData): void {
  const cred = data.creds[(exec.vu.idInTest - 1) % data.creds.length]!
  const i = exec.scenario.iterationInTest
  const slot = (i % 100) / 100
  if (slot < WRITE_SHARE) {
    const body: WalletInput = { name: `k6 load ${exec.vu.idInTest}-${i}`, type: TYPES[i % 3]!, chain: CHAINS[Math.floor(i / 3) % 3]! }
    check(createWallet(target, cred, body, `k6-load-${randomHex(12)}`, [201, 429]), {
      'wallet create answers 201 with a wallet (contract 3.3)': (r) => r.status === 201 && typeof (json(r) as { data?: { id?: unknown } } | undefined)?.data?.id === 'string'
    })
  } else if (slot < WRITE_SHARE + VALIDATE_SHARE) {
    check(validateKey(target, cred, [200, 429]), {
      'key validation answers 200 {valid: true} (contract 2.6)': (r) => r.status === 200 && (json(r) as { valid?: unknown } | undefined)?.valid === true
    })
  } else {
    const res = listWallets(target, cred, cursor === undefined ? { limit: 20 } : { limit: 20, cursor }, [200, 429])
    const page = json(res) as { data?: unknown, meta?: { cursor?: unknown, hasMore?: unknown } } | undefined
    check(res, {
      'wallet list answers 200 with the list envelope (contract 3.2)': (r) => r.status === 200 && Array.isArray(page?.data) && typeof page?.meta?.hasMore === 'boolean'
    })
    const next = page?.meta?.cursor
    cursor = res.status === 200 && page?.meta?.hasMore === true && typeof next === 'string' ? next : undefined
  }
}

export function handleSummary (data: SummaryData): Record<string, string> {
  return summaryOutputs('load', data, { declared: options.thresholds, profile: cfg.profile, dir: cfg.summaryDir, generatedAt: new Date().toISOString() })
}
