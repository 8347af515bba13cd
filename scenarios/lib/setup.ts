// What every setup() does before load starts: is the target up, which key do we use, does the server
// accept it. Each refusal stops the run with exec.test.abort() (exit code 108) and a message that says
// what failed and what to do, instead of a wall of failed checks.
import exec from 'k6/execution'
import { GET_A_KEY, isWellFormedKey, keyPrefix } from './config.ts'
import type { Config } from './config.ts'
import { ctlCreateKey, ctlCreateTenant, ctlDeleteFaults, ctlGetFaults, ctlPutFaults, health, validateKey } from './api.ts'
import type { Control, Credentials, Target } from './api.ts'
import { errorOf, json } from './http.ts'
import type { Response } from './http.ts'
import { header } from './rate-limit.ts'

export function abort (message: string): never {
  exec.test.abort(message)
  // abort() interrupts the VU; the throw only tells the type checker that nothing follows.
  throw new Error(message)
}

export function targetOf (cfg: Config): Target {
  return { baseUrl: cfg.baseUrl, network: cfg.network }
}

export function controlOf (cfg: Config): Control | undefined {
  return cfg.controlUrl === undefined ? undefined : { url: cfg.controlUrl, token: cfg.harnessToken }
}

export function requireControl (cfg: Config, why: string): Control {
  const ctl = controlOf(cfg)
  if (ctl === undefined) abort(`${why} needs the mock's control API: set CONTROL_URL (e.g. CONTROL_URL=http://127.0.0.1:4010) and, if the mock runs with --control-token, HARNESS_TOKEN.`)
  return ctl
}

function describe (res: Response): string {
  if (res.status === 0) return `no answer (${res.error || 'connection failed'})`
  const e = errorOf(res)
  return `${res.status}${e.code === undefined ? '' : ' ' + e.code}${e.message === undefined ? '' : ': ' + e.message}`
}

/** GET /health (contract 1.7): is BASE_URL an API that is up? */
export function checkTarget (cfg: Config): void {
  const res = health(targetOf(cfg))
  if (res.status === 0) abort(`Cannot reach ${cfg.baseUrl}/health: ${describe(res)}. Start the mock with \`npm run mock\`, or set BASE_URL to the API.`)
  if (res.status !== 200) abort(`${cfg.baseUrl}/health answered ${describe(res)}; BASE_URL must point at a Tenzro API or the mock (contract 1.7).`)
}

/** A control API call that must work; stops the run with the reason when it does not. */
export function controlOk (res: Response, what: string, ctl: Control): unknown {
  if (res.status >= 200 && res.status < 300) return (json(res) as { data?: unknown } | undefined)?.data
  if (res.status === 0) abort(`Cannot reach the control API at ${ctl.url} to ${what}: ${describe(res)}.`)
  // contract 7.1: the mock answers its control API on loopback only unless started with controlAllowRemote.
  if (res.status === 403 && errorOf(res).code === 'insufficient_scope') abort(`The control API at ${ctl.url} refused to ${what} (${describe(res)}): it answers on loopback only. Run k6 on the mock's host, or start the mock with "controlAllowRemote": true in its --config file.`)
  if (res.status === 401 || res.status === 403) abort(`The control API refused to ${what} (${describe(res)}): set HARNESS_TOKEN to the mock's --control-token.`)
  if (res.status === 404) abort(`The control API at ${ctl.url} cannot ${what} (${describe(res)}): CONTROL_URL must point at the Tenzro mock (contract 7.4).`)
  return abort(`The control API could not ${what}: ${describe(res)}.`)
}

export interface NewTenant {
  tenant: { id: string, slug: string }
  key: { id: string, key: string }
}

/** POST /__harness/tenants (contract 7.4): a fresh tenant and its first key. */
export function createTenant (ctl: Control, rateLimit?: number): NewTenant {
  const data = controlOk(ctlCreateTenant(ctl, rateLimit === undefined ? {} : { rateLimit }), 'create a tenant', ctl) as Partial<NewTenant> | undefined
  if (typeof data?.tenant?.id !== 'string' || typeof data.key?.key !== 'string') abort('POST /__harness/tenants answered without data.tenant.id and data.key.key (contract 7.4).')
  return data as NewTenant
}

/** POST /__harness/keys (contract 7.4): one more key for a tenant. */
export function createKey (ctl: Control, tenant: string, rateLimit?: number): { id: string, key: string } {
  const data = controlOk(ctlCreateKey(ctl, rateLimit === undefined ? { tenant } : { tenant, rateLimit }), 'create a key', ctl) as { id?: unknown, key?: unknown } | undefined
  if (typeof data?.id !== 'string' || typeof data.key !== 'string') abort('POST /__harness/keys answered without data.id and data.key (contract 7.4).')
  return { id: data.id as string, key: data.key as string }
}

export interface KeyInfo {
  /** The tenant the server says the key belongs to. */
  tenantId: string | undefined
  /** X-RateLimit-Limit of the validation call (contract 5.2). */
  limit: number | undefined
}

/** GET /api/keys/validate (contract 2.6): does the server accept this key for this tenant? */
export function checkKey (cfg: Config, cred: Credentials): KeyInfo {
  const res = validateKey(targetOf(cfg), cred, [200, 401, 403, 429])
  const who = `key ${keyPrefix(cred.apiKey)}`
  if (res.status === 0) abort(`Cannot reach ${cfg.baseUrl}/api/keys/validate: ${describe(res)}.`)
  if (res.status === 401) abort(`The API refused ${who}: ${describe(res)}. Check API_KEY; on the mock get a new key with: ${GET_A_KEY}`)
  if (res.status === 403) abort(`The API refused ${who} for tenant ${cred.tenantId}: ${describe(res)}. Unset TENANT_ID to use the key's own tenant, or fix it (contract 2.2).`)
  if (res.status === 429) abort(`${who} is rate limited right now (Retry-After ${header(res.headers, 'Retry-After') ?? '?'} s); wait for the window to reset or use another key (contract 5.3).`)
  if (res.status !== 200) abort(`GET /api/keys/validate answered ${describe(res)}.`)
  const body = json(res) as { valid?: unknown, tenantId?: unknown } | undefined
  if (body?.valid !== true) abort(`GET /api/keys/validate did not confirm ${who} ({valid: true} missing, contract 2.6).`)
  const limit = Number(header(res.headers, 'X-RateLimit-Limit'))
  return { tenantId: typeof body?.tenantId === 'string' ? body.tenantId : undefined, limit: Number.isInteger(limit) && limit > 0 ? limit : undefined }
}

/**
 * The key of this run: API_KEY (+ TENANT_ID or the key's own tenant) when given, otherwise a new
 * tenant from the control API with `rateLimit` requests per window. Checked with the server either way.
 */
export function acquireCredentials (cfg: Config, opts: { rateLimit?: number } = {}): { cred: Credentials, info: KeyInfo, created: NewTenant | undefined } {
  checkTarget(cfg)
  let cred: Credentials
  let created: NewTenant | undefined
  if (cfg.apiKey !== undefined) {
    if (!isWellFormedKey(cfg.apiKey)) console.warn(`API_KEY ${keyPrefix(cfg.apiKey)} does not look like tnz_<tenant>_<43 base64url chars> (contract 2.1); the server will decide.`)
    if (cfg.tenantId === undefined) abort('API_KEY is not of the form tnz_<tenant>_<secret>, so its tenant is unknown: set TENANT_ID.')
    cred = { apiKey: cfg.apiKey, tenantId: cfg.tenantId }
  } else {
    const ctl = controlOf(cfg)
    if (ctl === undefined) abort(`No API_KEY. Set API_KEY (and TENANT_ID if the key's tenant segment is not the tenant), or set CONTROL_URL to let the scenario create a tenant. On the mock, one command gives a key: ${GET_A_KEY}`)
    created = createTenant(ctl, opts.rateLimit)
    cred = { apiKey: created.key.key, tenantId: created.tenant.id }
  }
  return { cred, info: checkKey(cfg, cred), created }
}

// ---- fault plan (contract 7.2, 7.4) ---------------------------------------------------------------

export interface FaultPlan {
  seed?: number
  faults: Array<Record<string, unknown>>
}

/**
 * Add this run's faults to the mock's plan, keeping whatever was there (PUT replaces the plan, so the
 * current one is read first). Returns the plan to restore in teardown().
 */
export function installFaults (ctl: Control, faults: Array<Record<string, unknown>>, seed?: number): FaultPlan {
  const current = controlOk(ctlGetFaults(ctl), 'read the fault plan', ctl) as { seed?: number, faults?: Array<Record<string, unknown>> } | undefined
  const previous: FaultPlan = { seed: current?.seed, faults: Array.isArray(current?.faults) ? current!.faults : [] }
  const ours = new Set(faults.map((f) => f.id))
  const kept = previous.faults.filter((f) => !ours.has(f.id))
  if (kept.length + faults.length > 100) abort(`The mock holds at most 100 faults; ${kept.length} are set and this run adds ${faults.length}. Lower VUS or clear the plan (DELETE /__harness/faults).`)
  controlOk(ctlPutFaults(ctl, { seed: seed ?? previous.seed, faults: kept.concat(faults) }), 'set the fault plan', ctl)
  return previous
}

/** Put back the plan installFaults() found. Never aborts: teardown must not hide the test's result. */
export function restoreFaults (ctl: Control, previous: FaultPlan | undefined): void {
  const res = previous === undefined || previous.faults.length === 0
    ? ctlDeleteFaults(ctl)
    : ctlPutFaults(ctl, previous.seed === undefined ? { faults: previous.faults } : { seed: previous.seed, faults: previous.faults })
  if (res.status < 200 || res.status >= 300) console.warn(`Could not restore the mock's fault plan (${describe(res)}); clear it with DELETE ${ctl.url}/__harness/faults.`)
}

/** EXTRA_FAULTS: a JSON array of fault specs (contract 7.2) added to the run's plan, e.g. sse-duplicate. */
export function extraFaults (raw: string | undefined): Array<Record<string, unknown>> {
  if (raw === undefined || raw.trim() === '') return []
  let v: unknown
  let problem = ''
  try {
    v = JSON.parse(raw)
  } catch (err) {
    problem = String(err)
  }
  if (problem !== '') throw new Error(`EXTRA_FAULTS is not JSON (${problem}); give an array of fault specs, e.g. [{"type":"sse-duplicate","count":2}]`)
  if (!Array.isArray(v) || !v.every((f) => typeof f === 'object' && f !== null && !Array.isArray(f))) throw new Error('EXTRA_FAULTS must be a JSON array of fault objects, e.g. [{"type":"sse-duplicate","count":2}]')
  return v as Array<Record<string, unknown>>
}
