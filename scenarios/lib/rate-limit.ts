// The judge of scenarios/rate-limit-probe.ts: given what one key saw while driven at twice its limit,
// did the server's limiter keep contract 5? Pure (plain observations in, a verdict out), so vitest can
// prove that an over-admitting limiter fails the probe.
//
// Rules, each citing the contract:
//   5.4  a fixed window admits exactly `limit` requests: no more (over-admission), and, when more were
//        sent, no fewer (under-admission).
//   5.2  every authenticated response carries X-RateLimit-Limit/Remaining/Reset as integers; Limit is
//        the key's limit; Remaining counts down by one per admitted request; Reset names the window.
//   5.3  every 429 has code rate_limited, Retry-After in whole seconds >= 1, and details
//        [{field: 'retryAfter', message: '<same seconds>'}]; Retry-After agrees with Reset.

export interface HttpLike {
  status: number
  headers: Record<string, string>
  body: string | null | undefined
}

export interface RlObservation {
  /** 0 when the request failed below HTTP. */
  status: number
  limit: number | undefined
  remaining: number | undefined
  /** X-RateLimit-Reset, Unix seconds. */
  reset: number | undefined
  /** Retry-After exactly as sent. */
  retryAfter: string | undefined
  errorCode: string | undefined
  /** details[].message of the `retryAfter` field. */
  detailRetryAfter: string | undefined
  /** The server's Date header in Unix seconds, when sent. */
  serverDateS: number | undefined
  sentAtMs: number
  receivedAtMs: number
}

export interface WindowVerdict {
  reset: number
  /** Requests of this key counted in the window before the burst (from the priming response). */
  prior: number
  sent: number
  admitted: number
  refused: number
  /** limit - prior: what the window could still admit. */
  capacity: number
  expectedAdmitted: number
  overAdmitted: number
  underAdmitted: number
}

export interface BurstVerdict {
  windows: WindowVerdict[]
  admitted: number
  refused: number
  /** Neither 2xx nor 429 (network errors, 5xx, 401...). */
  unexpected: number
  overAdmitted: number
  underAdmitted: number
  headerViolations: string[]
  retryAfterViolations: string[]
  /** The longest valid Retry-After of the latest window's 429s: how long an honest client waits. */
  retryAfterS: number | undefined
  /** Highest X-RateLimit-Reset seen. */
  lastReset: number | undefined
}

/** Header lookup that ignores case: Go canonicalises `X-RateLimit-Limit` to `X-Ratelimit-Limit`. */
export function header (headers: Record<string, string> | null | undefined, name: string): string | undefined {
  // k6 hands a response without headers (status 0) a nil map: tolerate null.
  if (headers === null || headers === undefined) return undefined
  const want = name.toLowerCase()
  for (const k of Object.keys(headers)) if (k.toLowerCase() === want) return headers[k]
  return undefined
}

function intHeader (v: string | undefined): number | undefined {
  if (v === undefined || !/^\s*\d{1,15}\s*$/.test(v)) return undefined
  return Number(v.trim())
}

/** Retry-After as contract 5.3 wants it: whole seconds, at least 1. An HTTP-date is not accepted. */
export function parseRetryAfter (v: string | undefined): number | undefined {
  const n = intHeader(v)
  return n !== undefined && n >= 1 ? n : undefined
}

export function observationFrom (res: HttpLike, sentAtMs: number, receivedAtMs: number): RlObservation {
  let errorCode: string | undefined
  let detailRetryAfter: string | undefined
  if (res.status === 429 && typeof res.body === 'string') {
    try {
      const b = JSON.parse(res.body) as { error?: { code?: unknown, details?: Array<{ field?: unknown, message?: unknown }> } }
      if (typeof b.error?.code === 'string') errorCode = b.error.code
      for (const d of b.error?.details ?? []) if (d.field === 'retryAfter' && typeof d.message === 'string') detailRetryAfter = d.message
    } catch {
      errorCode = undefined
    }
  }
  const date = header(res.headers, 'Date')
  const parsedDate = date === undefined ? Number.NaN : Date.parse(date)
  return {
    status: res.status,
    limit: intHeader(header(res.headers, 'X-RateLimit-Limit')),
    remaining: intHeader(header(res.headers, 'X-RateLimit-Remaining')),
    reset: intHeader(header(res.headers, 'X-RateLimit-Reset')),
    retryAfter: header(res.headers, 'Retry-After'),
    errorCode,
    detailRetryAfter,
    serverDateS: Number.isFinite(parsedDate) ? Math.floor(parsedDate / 1000) : undefined,
    sentAtMs,
    receivedAtMs
  }
}

const admittedStatus = (s: number) => s >= 200 && s < 300

/** Seconds of tolerance between Retry-After and Reset - now: both are rounded to whole seconds. */
const SKEW_S = 2

/**
 * Judge one burst. `prior` maps a window (its Reset) to the requests already counted in it before the
 * burst, read from the priming response as `limit - remaining`.
 */
export function judgeBurst (obs: RlObservation[], opts: { limit: number, prior?: Map<number, number> }): BurstVerdict {
  const { limit } = opts
  const prior = opts.prior ?? new Map<number, number>()
  const headerViolations: string[] = []
  const retryAfterViolations: string[] = []
  const groups = new Map<number, RlObservation[]>()
  let admitted = 0
  let refused = 0
  let unexpected = 0

  obs.forEach((o, i) => {
    const at = `response ${i + 1} (${o.status})`
    if (!admittedStatus(o.status) && o.status !== 429) { unexpected++; return }
    if (admittedStatus(o.status)) admitted++
    else refused++
    if (o.limit === undefined || o.remaining === undefined || o.reset === undefined) {
      headerViolations.push(`${at}: X-RateLimit-Limit/Remaining/Reset missing or not integers (contract 5.2)`)
    } else {
      if (o.limit !== limit) headerViolations.push(`${at}: X-RateLimit-Limit is ${o.limit}, the key's limit is ${limit} (contract 5.2)`)
      if (admittedStatus(o.status) && o.remaining > limit - 1) headerViolations.push(`${at}: admitted with X-RateLimit-Remaining ${o.remaining}, above limit - 1 (contract 5.2)`)
      if (o.status === 429 && o.remaining !== 0) headerViolations.push(`${at}: 429 with X-RateLimit-Remaining ${o.remaining}, not 0 (contract 5.2)`)
      let g = groups.get(o.reset)
      if (g === undefined) { g = []; groups.set(o.reset, g) }
      g.push(o)
    }
    if (o.status === 429) {
      const ra = parseRetryAfter(o.retryAfter)
      if (ra === undefined) {
        retryAfterViolations.push(`${at}: Retry-After is ${o.retryAfter === undefined ? 'missing' : JSON.stringify(o.retryAfter)}, not whole seconds >= 1 (contract 5.3)`)
      } else {
        if (o.detailRetryAfter !== String(ra)) retryAfterViolations.push(`${at}: details has no {field: 'retryAfter', message: '${ra}'} (contract 5.3)`)
        if (o.reset !== undefined) {
          const nowS = o.serverDateS ?? Math.floor(o.receivedAtMs / 1000)
          const left = o.reset - nowS
          if (Math.abs(ra - left) > SKEW_S) retryAfterViolations.push(`${at}: Retry-After ${ra}s disagrees with X-RateLimit-Reset, ${left}s away (contract 5.2, 5.3)`)
        }
      }
      if (o.errorCode !== 'rate_limited') retryAfterViolations.push(`${at}: error code is ${o.errorCode === undefined ? 'missing' : o.errorCode}, not rate_limited (contract 5.3)`)
    }
  })

  const resets = [...groups.keys()].sort((a, b) => a - b)
  if (resets.length > 2) headerViolations.push(`X-RateLimit-Reset took ${resets.length} values (${resets.join(', ')}) in one burst shorter than a window (contract 5.2)`)

  const windows: WindowVerdict[] = []
  let overAdmitted = 0
  let underAdmitted = 0
  for (const reset of resets) {
    const g = groups.get(reset)!
    const before = Math.max(0, Math.min(limit, prior.get(reset) ?? 0))
    const ok = g.filter((o) => admittedStatus(o.status))
    const capacity = limit - before
    const expectedAdmitted = Math.min(capacity, g.length)
    const over = Math.max(0, ok.length - capacity)
    const under = Math.max(0, expectedAdmitted - ok.length)
    overAdmitted += over
    underAdmitted += under
    windows.push({ reset, prior: before, sent: g.length, admitted: ok.length, refused: g.length - ok.length, capacity, expectedAdmitted, overAdmitted: over, underAdmitted: under })
    // Remaining must count down by one per admission: distinct values, ending at limit - prior - admitted.
    const rem = ok.map((o) => o.remaining as number)
    const distinct = new Set(rem)
    if (distinct.size !== rem.length) headerViolations.push(`window ending ${reset}: ${rem.length - distinct.size} admitted responses repeat an X-RateLimit-Remaining value (contract 5.2)`)
    if (ok.length > 0 && ok.length <= capacity) {
      const lowest = Math.min(...rem)
      if (lowest !== capacity - ok.length) headerViolations.push(`window ending ${reset}: after ${ok.length} admissions X-RateLimit-Remaining reached ${lowest}, expected ${capacity - ok.length} (contract 5.2)`)
    }
  }

  let retryAfterS: number | undefined
  const last = resets.length === 0 ? undefined : resets[resets.length - 1]
  if (last !== undefined) {
    for (const o of groups.get(last)!) {
      if (o.status !== 429) continue
      const ra = parseRetryAfter(o.retryAfter)
      if (ra !== undefined && (retryAfterS === undefined || ra > retryAfterS)) retryAfterS = ra
    }
  }
  return { windows, admitted, refused, unexpected, overAdmitted, underAdmitted, headerViolations, retryAfterViolations, retryAfterS, lastReset: last }
}

/** After waiting Retry-After, the next request must be admitted, in a later window (contract 5.3). */
export function judgeAfterWait (o: RlObservation, previousReset: number | undefined): string[] {
  const v: string[] = []
  if (!admittedStatus(o.status)) v.push(`after waiting Retry-After the request got ${o.status}, not admitted (contract 5.3)`)
  else if (previousReset !== undefined && o.reset !== undefined && o.reset <= previousReset) v.push(`after waiting Retry-After the request is still in the window ending ${o.reset} (contract 5.2, 5.3)`)
  return v
}
