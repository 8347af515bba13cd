import type { Evidence } from '../evidence.ts'
import { checkAuth } from './auth.ts'
import { checkIdempotency } from './idempotency.ts'
import { checkReconnection } from './reconnection.ts'
import { checkSecrets } from './secrets.ts'
import { checkThrottling } from './throttling.ts'
import { checkTls } from './tls.ts'
import type { CheckResult } from './types.ts'
import { checkRotation } from './rotation.ts'
import { checkInput } from './input.ts'
import { checkNetwork } from './network.ts'
import { checkIncident } from './incident.ts'

export type { CheckResult, CheckStatus, Violation } from './types.ts'
export { checkAuth, checkIdempotency, checkReconnection, checkSecrets, checkThrottling, checkTls }
export { checkIncident, checkInput, checkNetwork, checkRotation }

export const CHECK_GROUPS = ['auth', 'throttling', 'reconnection', 'idempotency', 'secrets'] as const
/** The drills' groups (drills/profiles.ts): run only by the profiles that set up their condition. */
export const DRILL_CHECK_GROUPS = ['rotation', 'input', 'network', 'incident'] as const
/** `tls` runs only when a profile asks for it (verify --profile tls): other runs have no TLS to judge. */
export type CheckGroup = typeof CHECK_GROUPS[number] | 'tls' | typeof DRILL_CHECK_GROUPS[number]

/** Run the chosen groups; a check that throws is an `error` verdict, never a crash. */
export async function runChecks (e: Evidence, groups: readonly CheckGroup[] = CHECK_GROUPS): Promise<CheckResult[]> {
  const out: CheckResult[] = []
  const fns: Record<CheckGroup, (e: Evidence) => CheckResult[] | Promise<CheckResult[]>> = {
    auth: checkAuth, throttling: checkThrottling, reconnection: checkReconnection, idempotency: checkIdempotency, secrets: checkSecrets, tls: checkTls,
    rotation: checkRotation, input: checkInput, network: checkNetwork, incident: checkIncident
  }
  for (const g of groups) {
    try {
      out.push(...await fns[g](e))
    } catch (err) {
      out.push({ id: `${g}/error`, title: `${g} checks`, status: 'error', summary: `the ${g} checks could not run: ${(err as Error).message}`, evidence: {}, violations: [] })
    }
  }
  return out
}
