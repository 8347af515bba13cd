// A check's verdict is a value (house style principle 4): status plus the evidence behind it.
import { CATALOG } from './catalog.ts'

export type CheckStatus = 'pass' | 'fail' | 'error' | 'skip'

export interface Violation {
  /** What went wrong, in one sentence with numbers. */
  message: string
  /** Epoch ms, when the violation can be placed on the timeline. */
  at?: number
  requestId?: string
  [k: string]: unknown
}

export interface CheckResult {
  id: string
  title: string
  status: CheckStatus
  /** The condition the check needs (checks/catalog.ts); when it did not occur the status is skip. */
  requires?: string
  /** One sentence for the console and the JUnit message. */
  summary: string
  /** Numbers, ids and times behind the verdict. */
  evidence: Record<string, unknown>
  violations: Violation[]
}

export const MAX_VIOLATIONS = 20

export function verdict (id: string, title: string, violations: Violation[], evidence: Record<string, unknown>, passSummary: string): CheckResult {
  const status = violations.length === 0 ? 'pass' : 'fail'
  return {
    id,
    title,
    status,
    ...requires(id),
    summary: status === 'pass' ? passSummary : `${violations.length} violation(s): ${violations[0]!.message}`,
    evidence: { ...evidence, violationCount: violations.length },
    violations: violations.slice(0, MAX_VIOLATIONS)
  }
}

/** Not exercised: `reason` says what did not happen for this client; the evidence names the condition. */
export function skip (id: string, title: string, reason: string, evidence: Record<string, unknown> = {}): CheckResult {
  const r = requires(id)
  return { id, title, status: 'skip', ...r, summary: reason, evidence: { ...evidence, ...(r.requires === undefined ? {} : { requires: r.requires }) }, violations: [] }
}

function requires (id: string): { requires?: string } {
  const r = CATALOG[id]?.requires
  return r === undefined ? {} : { requires: r }
}
