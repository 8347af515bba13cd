// Separate environments (seed: "Use separate keys for development and production"; docs/api.md 2.8):
// a key bound to one network is only ever sent to that network. A refusal with network_mismatch means
// the client sent, say, its testnet key to mainnet (or to devnet by leaving X-Network out).
import { requestsOf, startOf, type Evidence } from '../evidence.ts'
import { skip, verdict, type CheckResult } from './types.ts'
import { DRILL_CATALOG } from './drill-catalog.ts'

const ID = 'auth/key-for-this-network'
const TITLE = DRILL_CATALOG[ID].title

export function checkNetwork (e: Evidence): CheckResult[] {
  const bound = e.setup.drills?.network?.bound
  if (bound === undefined) return [skip(ID, TITLE, 'the profile binds no key to a network', { requires: 'a key bound to a network' })]
  const reqs = requestsOf(e)
  if (reqs.length === 0) return [skip(ID, TITLE, 'the client made no request', { requires: 'a request with the bound key', bound })]
  const wrong = reqs.filter((r) => r.code === 'network_mismatch')
  const named = new Map<string, number>()
  for (const r of reqs) {
    const n = (r as { network?: string | null }).network ?? 'none (devnet)'
    named.set(n, (named.get(n) ?? 0) + 1)
  }
  const first = wrong[0]
  const v = first === undefined
    ? []
    : [{ message: `${wrong.length} request(s) sent the ${bound} key to another network, the first ${first.method} ${first.path} with X-Network ${(first as { network?: string | null }).network ?? 'absent (devnet)'}: 403 network_mismatch`, at: startOf(first), requestId: first.requestId }]
  return [verdict(ID, TITLE, v, { bound, requests: reqs.length, refused: wrong.length, networksNamed: Object.fromEntries(named) }, `${reqs.length} requests, all on ${bound}`)]
}
