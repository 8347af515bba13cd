// Fault counters (contract 7.2: `after`, `times`, `probability`) over every instance that shares state:
// a plan's `times: 3` fires three times in all, not three times per instance. Which faults of the plan
// match a request is decided here as the plan does (scope: tenant, key, route); whether each fires is
// one atomic script on Redis counting `seen` and `applied` per fault of this plan version, with a coin
// drawn from (seed, fault, seen), so every instance draws the same one for the n-th matching request.
// The decision itself (latency, status, labels, ...) is then the plan's own: a plan made of only the
// faults that fired, with their counters off, answers it, so every fault type behaves as in one
// process.
import type { Redis } from 'ioredis'
import { createFaultPlan, REST_FAULTS, SSE_FAULTS, type FaultPlan, type FaultSpec, type FaultTarget, type RestFaultDecision, type SseFaultDecision } from '../fault-plan.ts'

// KEYS[1] the counters of this plan version; ARGV[1] the seed, ARGV[2] the TTL in ms, ARGV[3] '1' to only
// count the request as seen (a refused stream spends no other fault), then per candidate fault: index,
// after, times (-1 = unlimited), probability, exclusive. Of the exclusive faults (sse-duplicate,
// sse-gap) at most one fires per request, the first in plan order; a later one counts the request as
// seen and keeps its times, as FaultPlan.sse does in one process. Returns the indices that fire.
const DECIDE = `
local out = {}
local seeOnly = ARGV[3] == '1'
local exclusiveFired = false
for i = 4, #ARGV, 5 do
  local idx = ARGV[i]
  local after = tonumber(ARGV[i + 1])
  local times = tonumber(ARGV[i + 2])
  local p = tonumber(ARGV[i + 3])
  local exclusive = ARGV[i + 4] == '1'
  local seen = redis.call('HINCRBY', KEYS[1], 's' .. idx, 1)
  if not seeOnly and not (exclusive and exclusiveFired) and seen > after then
    local applied = tonumber(redis.call('HGET', KEYS[1], 'a' .. idx) or '0')
    if times < 0 or applied < times then
      local fire = true
      if p < 1 then
        local h = redis.sha1hex(ARGV[1] .. ':' .. idx .. ':' .. seen)
        fire = tonumber(string.sub(h, 1, 8), 16) / 4294967296 < p
      end
      if fire then
        redis.call('HINCRBY', KEYS[1], 'a' .. idx, 1)
        out[#out + 1] = tonumber(idx)
        if exclusive then exclusiveFired = true end
      end
    end
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return out
`
/** Stream faults that only a resume can carry, and at most one of them per resume (contract 7.2). */
const RESUME_ONLY = new Set(['sse-duplicate', 'sse-gap'])
const ROUTE_RE = /^(?:(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) )?(\/\S*)$/
/** Counters outlive their plan by this much, then go. */
const TTL_MS = 7 * 24 * 3600 * 1000

type Script = (numKeys: number, ...args: Array<string | number>) => Promise<number[]>

interface Candidate { index: number, spec: FaultSpec, method: string | undefined, path: string | undefined }

function inScope (c: Candidate, t: FaultTarget): boolean {
  const s = c.spec.scope
  if (s?.tenant !== undefined && s.tenant !== t.tenantId && s.tenant !== t.tenantSlug) return false
  if (s?.key !== undefined && s.key !== t.keyId) return false
  if (c.method !== undefined && c.method !== t.method) return false
  if (c.path !== undefined && c.path !== t.route) return false
  return true
}

export function createSharedFaultCounters ({ redis, prefix }: { redis: Redis, prefix: string }) {
  redis.defineCommand('tnzFaultDecide', { lua: DECIDE })
  const decide = (redis as unknown as { tnzFaultDecide: Script }).tnzFaultDecide.bind(redis)
  /** Per plan object: its candidates and the sub-plans made so far, by the set of faults that fired. */
  const compiled = new WeakMap<FaultPlan, { rest: Candidate[], sse: Candidate[], subs: Map<string, FaultPlan> }>()
  let version = 'initial'

  function of (plan: FaultPlan) {
    let c = compiled.get(plan)
    if (c === undefined) {
      const all = plan.spec.faults.map((spec, index) => {
        const m = spec.scope?.route === undefined ? undefined : ROUTE_RE.exec(spec.scope.route)
        return { index, spec, method: m?.[1], path: m?.[2] }
      })
      c = {
        rest: all.filter((x) => (REST_FAULTS as readonly string[]).includes(x.spec.type)),
        sse: all.filter((x) => (SSE_FAULTS as readonly string[]).includes(x.spec.type)),
        subs: new Map()
      }
      compiled.set(plan, c)
    }
    return c
  }

  /** The plan of just these faults, counters off, labelled as in the whole plan. */
  function sub (plan: FaultPlan, fired: number[]): FaultPlan {
    const c = of(plan)
    const key = fired.join(',')
    let p = c.subs.get(key)
    if (p === undefined) {
      const faults = fired.map((i) => {
        const { after: _a, times: _t, probability: _p, ...rest } = plan.spec.faults[i]!
        return { ...rest, id: rest.id ?? `${rest.type}#${i}` }
      })
      p = createFaultPlan({ seed: plan.seed, faults }, plan.seed)
      if (c.subs.size < 256) c.subs.set(key, p)
    }
    return p
  }

  async function fired (plan: FaultPlan, candidates: Candidate[], seeOnly = false): Promise<number[]> {
    if (candidates.length === 0) return []
    const args: Array<string | number> = [String(plan.seed), TTL_MS, seeOnly ? '1' : '0']
    for (const c of candidates) args.push(c.index, c.spec.after ?? 0, c.spec.times ?? -1, c.spec.probability ?? 1, RESUME_ONLY.has(c.spec.type) ? '1' : '0')
    return await decide(1, `${prefix}faults:${version}`, ...args)
  }

  return {
    /** A new plan was set (here or on another instance, with the same version): counting starts again. */
    setVersion (v: string): void { version = v },
    version: () => version,

    async rest (plan: FaultPlan, t: FaultTarget, isMutation: boolean): Promise<RestFaultDecision | undefined> {
      const candidates = of(plan).rest.filter((c) => (isMutation || c.spec.type !== 'lost-response') && inScope(c, t))
      const f = await fired(plan, candidates)
      return f.length === 0 ? undefined : sub(plan, f).rest(t, isMutation)
    },

    /**
     * As FaultPlan.sse: sse-duplicate and sse-gap count resumes only; rejects are decided first, and a
     * refused connection counts as seen by the other faults without spending them.
     */
    async sse (plan: FaultPlan, t: FaultTarget): Promise<SseFaultDecision | undefined> {
      const candidates = of(plan).sse.filter((c) => inScope(c, t) && (t.resume === true || !RESUME_ONLY.has(c.spec.type)))
      const others = candidates.filter((c) => c.spec.type !== 'sse-reject')
      const refused = await fired(plan, candidates.filter((c) => c.spec.type === 'sse-reject'))
      if (refused.length > 0) {
        await fired(plan, others, true)
        return sub(plan, [refused[0]!]).sse(t)
      }
      const f = await fired(plan, others)
      return f.length === 0 ? undefined : sub(plan, f).sse(t)
    },

    /** Counters of every instance, in the shape of FaultPlan.stats(). */
    async stats (plan: FaultPlan) {
      const h = await redis.hgetall(`${prefix}faults:${version}`)
      return plan.stats().map((s, i) => ({ ...s, seen: Number(h[`s${i}`] ?? 0), applied: Number(h[`a${i}`] ?? 0) }))
    }
  }
}

export type SharedFaultCounters = ReturnType<typeof createSharedFaultCounters>
