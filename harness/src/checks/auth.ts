// Auth verdicts (seed: "API Key Handling"; contract 1.2, 2): the key travels in a header only, and a
// refused key does not make the client hammer the API.
import { requestsOf, startOf, type Evidence } from '../evidence.ts'
import { skip, verdict, type CheckResult, type Violation } from './types.ts'

/** Requests allowed in the second after a 401 before it counts as a hot loop. */
export const HOT_LOOP_AFTER_401 = 3

export function checkAuth (e: Evidence): CheckResult[] {
  const reqs = requestsOf(e)
  const leaks: Violation[] = []
  for (const r of reqs) {
    if (r.secretInUrl === true) leaks.push({ message: `${r.method} ${r.path} carried an API key in its query string`, at: startOf(r), requestId: r.requestId })
    if (r.secretInBody === true) leaks.push({ message: `${r.method} ${r.path} carried an API key in its body`, at: startOf(r), requestId: r.requestId })
  }
  const header = reqs.length === 0
    ? skip('auth/key-in-header', 'The key travels in a header, never in a URL or body', 'the client made no request')
    : verdict('auth/key-in-header', 'The key travels in a header, never in a URL or body', leaks,
      { requests: reqs.length }, `${reqs.length} requests, every key in a header`)

  // After each 401, how many requests started within the next second?
  const loops: Violation[] = []
  const unauthorized = reqs.filter((r) => r.status === 401)
  let worst = 0
  for (const r of unauthorized) {
    const n = reqs.filter((x) => startOf(x) > r.ts && startOf(x) <= r.ts + 1000).length
    worst = Math.max(worst, n)
    if (n > HOT_LOOP_AFTER_401) loops.push({ message: `${n} requests within 1 s after a 401 (${r.code ?? 'unauthorized'}) at ${new Date(r.ts).toISOString()}`, at: r.ts, requestId: r.requestId })
  }
  const dedup = loops.filter((v, i) => i === 0 || (v.at ?? 0) - (loops[i - 1]!.at ?? 0) > 1000)
  // A key is revoked by the profile's end-of-run revocation, by a rotation (the old key, after its
  // grace period) or by an incident drill (every key of the tenant): any of them can answer 401.
  const rotation = e.setup.drills?.rotation
  const revokedAtMs = e.setup.revokedAtMs ?? rotation?.revokedAtMs ?? e.setup.drills?.incident?.revokedAtMs ?? null
  const why401Absent = revokedAtMs === null
    ? 'no request was refused with 401 (the profile does not revoke the key)'
    : rotation?.revokedAtMs === revokedAtMs
      ? 'no request was refused with 401 (the client stopped using the old key before it was revoked)'
      : 'no request was refused with 401: the client made no request after its key was revoked'
  const hot = unauthorized.length === 0
    ? skip('auth/no-hot-loop-after-401', 'No hot loop of requests after a 401', why401Absent, { revokedAtMs })
    : verdict('auth/no-hot-loop-after-401', 'No hot loop of requests after a 401', dedup,
    { unauthorized: unauthorized.length, maxRequestsWithin1sAfter401: worst, limit: HOT_LOOP_AFTER_401, revokedAtMs },
    `${unauthorized.length} 401s, at most ${worst} requests within 1 s after one`)
  return [header, hot]
}
