// Configuration of every scenario, read once from __ENV in the init context. Pure: it takes the
// environment as an argument and imports nothing from k6, so vitest can test it.

export interface Config {
  /** The API under test, without a trailing slash. */
  baseUrl: string
  /** `tnz_<tenant>_<secret>` (contract 2.1); undefined means "create one through the control API". */
  apiKey: string | undefined
  /** Tenant id or slug for X-Tenant-Id (contract 2.2); defaults to the key's `<tenant>` segment. */
  tenantId: string | undefined
  /** The mock's control API (contract 7.4); undefined against a real Tenzro environment. */
  controlUrl: string | undefined
  harnessToken: string | undefined
  /** X-Network (contract 1.2); undefined sends none (the server's default, devnet). */
  network: string | undefined
  profile: string
  /** Where handleSummary writes its JSON and JUnit files; k6 does not create directories. */
  summaryDir: string
  /** Multiplies every latency budget of the thresholds (LATENCY_SCALE): a distant API, a busy machine. */
  latencyScale: number
}

export type Env = Record<string, string | undefined>

const KEY_RE = /^tnz_([a-z0-9]{1,32})_([A-Za-z0-9_-]{43})$/
const URL_RE = /^https?:\/\/[^\s/]+/

export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

function trimSlash (s: string): string {
  return s.replace(/\/+$/, '')
}

function nonEmpty (v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

/**
 * Read the scenario configuration. Throws ConfigError with what to do when a value is unusable:
 * a script that throws in the init context stops before any request is sent.
 */
export function readConfig (env: Env, defaults: { profile: string, profiles: readonly string[] }): Config {
  const baseUrl = trimSlash(nonEmpty(env.BASE_URL) ?? 'http://127.0.0.1:4010')
  if (!URL_RE.test(baseUrl)) throw new ConfigError(`BASE_URL=${baseUrl} is not an http(s) URL; set it to the API, e.g. BASE_URL=http://127.0.0.1:4010`)
  const controlRaw = nonEmpty(env.CONTROL_URL)
  const controlUrl = controlRaw === undefined ? undefined : trimSlash(controlRaw)
  if (controlUrl !== undefined && !URL_RE.test(controlUrl)) throw new ConfigError(`CONTROL_URL=${controlUrl} is not an http(s) URL; set it to the mock, e.g. CONTROL_URL=http://127.0.0.1:4010`)
  const profile = nonEmpty(env.PROFILE) ?? defaults.profile
  if (!defaults.profiles.includes(profile)) throw new ConfigError(`PROFILE=${profile} is not a profile of this scenario; use one of: ${defaults.profiles.join(', ')}`)
  const apiKey = nonEmpty(env.API_KEY)
  return {
    baseUrl,
    apiKey,
    tenantId: nonEmpty(env.TENANT_ID) ?? (apiKey === undefined ? undefined : tenantOfKey(apiKey)),
    controlUrl,
    harnessToken: nonEmpty(env.HARNESS_TOKEN),
    network: nonEmpty(env.NETWORK),
    profile,
    summaryDir: trimSlash(nonEmpty(env.SUMMARY_DIR) ?? '.'),
    latencyScale: numberFromEnv(env, 'LATENCY_SCALE', 1, 0.01, 1000)
  }
}

/** The `<tenant>` segment of a well-formed key (contract 2.1), which X-Tenant-Id accepts as a slug (2.2). */
export function tenantOfKey (key: string): string | undefined {
  return KEY_RE.exec(key)?.[1]
}

export function isWellFormedKey (key: string): boolean {
  return KEY_RE.test(key)
}

/** Enough of a key to recognise it in a message: the first 12 chars, as the contract's key list shows (2.6). */
export function keyPrefix (key: string): string {
  return key.slice(0, 12) + '…'
}

/** A positive integer from the environment, or the default; anything else is a ConfigError. */
export function intFromEnv (env: Env, name: string, fallback: number, min = 1, max = 1000000): number {
  const raw = nonEmpty(env[name])
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name}=${raw} must be an integer ${min}..${max}`)
  return n
}

export function numberFromEnv (env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env[name])
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(`${name}=${raw} must be a number ${min}..${max}`)
  return n
}

/** A latency budget in ms for a threshold expression, scaled by LATENCY_SCALE and rounded. */
export function budgetMs (cfg: Pick<Config, 'latencyScale'>, ms: number): number {
  return Math.max(1, Math.round(ms * cfg.latencyScale))
}

/** The one command that makes a tenant and key on a local mock (contract 7.4), quoted in error messages. */
export const GET_A_KEY = "curl -s -X POST http://127.0.0.1:4010/__harness/tenants -H 'content-type: application/json' -d '{}'"

/**
 * API_KEYS: several keys for one run, comma separated, each `key` or `key@tenant`, so a load test can
 * spread over keys instead of measuring one key's limiter. The key's own tenant segment is the default.
 */
export function parseKeyList (raw: string | undefined): Array<{ apiKey: string, tenantId: string }> {
  const out: Array<{ apiKey: string, tenantId: string }> = []
  for (const part of (raw ?? '').split(',')) {
    const item = part.trim()
    if (item === '') continue
    const at = item.lastIndexOf('@')
    const apiKey = at === -1 ? item : item.slice(0, at)
    const tenantId = at === -1 ? tenantOfKey(apiKey) : item.slice(at + 1)
    if (tenantId === undefined || tenantId === '') throw new ConfigError(`API_KEYS entry ${keyPrefix(apiKey)} is not of the form tnz_<tenant>_<secret>: write it as <key>@<tenant>`)
    out.push({ apiKey, tenantId })
  }
  return out
}
