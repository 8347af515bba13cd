// The domain part of opening an event stream (contract 4.2, 5.5, 7.2): the request's subjects and
// resume id, the concurrent-stream slot, the SSE fault decision (a refusal under sse-reject), and
// where the subscription starts (k events early under sse-duplicate, after a lost range under sse-gap). Framework-free: what writes the
// frames (sse/stream.ts) and what answers the request (pipeline/event-stream.ts) sit above it.
import { ApiError, MESSAGES, type ErrorDetail } from '../errors.ts'
import type { EventLog } from './event-log/types.ts'
import { parseSubjects, type SubjectFilter } from './event-log/subjects.ts'
import type { FaultPlan, FaultTarget, SseFaultDecision } from './fault-plan.ts'
import type { RecordEntryType } from './record.ts'
import { planResume } from './resume-faults.ts'

const ID_RE = /^\d{1,15}$/

/** Who opens the stream: the authenticated caller (an AuthContext fits). */
export interface StreamCaller {
  tenantId: string
  tenantSlug: string
  keyId: string
}

export interface StreamSlotsLike {
  /** A promise when the count is shared with other instances (domain/shared/stream-slots.ts). */
  acquire (keyId: string): boolean | Promise<boolean>
  release (keyId: string): void
}

export interface StreamRequest {
  filter: SubjectFilter
  patterns: string[]
  /** `last_event_id` / `Last-Event-ID` (4.2): the header wins; empty means absent. */
  resume: { id: number | undefined, via: 'header' | 'query' | undefined }
}

/** Contract 4.2: `subjects` and the resume id, with one detail per bad field. Throws validation_error. */
export function parseStreamRequest (headers: Record<string, string | string[] | undefined>, query: Record<string, unknown>): StreamRequest {
  const d: ErrorDetail[] = []
  const raw = query.subjects
  const subjects = parseSubjects(Array.isArray(raw) ? raw.join(',') : raw as string | undefined)
  if ('errors' in subjects) for (const message of subjects.errors) d.push({ field: 'subjects', message })
  let resume: StreamRequest['resume'] = { id: undefined, via: undefined }
  const h = headers['last-event-id']
  if (typeof h === 'string' && h.length > 0) {
    if (!ID_RE.test(h.trim())) d.push({ field: 'Last-Event-ID', message: 'must be a non-negative integer event id' })
    else resume = { id: Number(h.trim()), via: 'header' }
  } else {
    const q = query.last_event_id
    if (q !== undefined && q !== '') {
      if (typeof q !== 'string' || !ID_RE.test(q)) d.push({ field: 'last_event_id', message: 'must be a non-negative integer event id' })
      else resume = { id: Number(q), via: 'query' }
    }
  }
  if (d.length > 0 || !('filter' in subjects)) throw new ApiError('validation_error', 'The stream request is invalid; see details.', d)
  return { filter: subjects.filter, patterns: subjects.patterns, resume }
}

export interface StreamPlan<A extends StreamCaller = StreamCaller> extends StreamRequest {
  streamId: string
  auth: A
  requestId: string
  faults: SseFaultDecision | undefined
  /** Where the subscription starts: the resume id, or k before it under a duplicate fault. */
  after: number | undefined
  /** Events up to this sequence are re-sent on purpose (fault sse-duplicate). */
  duplicateUpTo: number
  /** Fault sse-gap: the range announced as lost when the stream opens. */
  gap: { from: number, to: number } | undefined
  /** Fault sse-gap with nothing after the resume id yet: the next event is announced as lost. */
  gapNext: boolean
  retryMs: number
}

export interface StreamPlannerOptions {
  slots: StreamSlotsLike
  /** Read per stream: the control API swaps the plan and the log stays the context's. */
  faults: () => FaultPlan
  events: () => EventLog
  record: (type: RecordEntryType, fields: Record<string, unknown>) => void
  maxStreamsPerKey: number
  /** The `retry:` the stream opens with unless a fault sets another (4.3). */
  retryMs: () => number
  /** Instances that share state decide SSE faults with shared counters (domain/shared/fault-counters.ts). */
  sseFaults?: ((plan: FaultPlan, t: FaultTarget) => Promise<SseFaultDecision | undefined>) | undefined
}

/** Plans streams; a plan holds a slot until the stream that runs it closes or it is abandoned. */
export function createStreamPlanner (opts: StreamPlannerOptions) {
  const { slots } = opts
  const tooManyStreams = new ApiError('too_many_streams', MESSAGES.too_many_streams, [{ field: 'X-API-Key', message: `at most ${opts.maxStreamsPerKey} concurrent streams per key` }])
  const unhealthy = new ApiError('service_unavailable', 'The event backend is not reachable; retry after Retry-After seconds.', [{ field: 'retryAfter', message: '1' }], { 'retry-after': '1' })
  let counter = 0

  return {
    /** The refusal while the event backend is down (also the events health route's). */
    unhealthy,

    /** Parse, take a slot (429 too_many_streams), decide the SSE faults, refuse under sse-reject. Throws ApiError. */
    async prepare<A extends StreamCaller> (auth: A, requestId: string, headers: Record<string, string | string[] | undefined>, query: Record<string, unknown>): Promise<StreamPlan<A>> {
      const log = opts.events()
      const req = parseStreamRequest(headers, query)
      const got = slots.acquire(auth.keyId)
      if (got === false) throw tooManyStreams
      if (got !== true) {
        let ok: boolean
        try { ok = await got } catch { throw unhealthy }
        if (!ok) throw tooManyStreams
      }
      let streamId: string
      let faults: SseFaultDecision | undefined
      try {
        streamId = `str_${(++counter).toString().padStart(6, '0')}`
        const plan = opts.faults()
        const target = { tenantId: auth.tenantId, tenantSlug: auth.tenantSlug, keyId: auth.keyId, method: 'GET', route: '/api/events/stream', resume: req.resume.id !== undefined }
        if (!plan.hasSse) faults = undefined
        else if (opts.sseFaults === undefined) faults = plan.sse(target)
        else {
          try { faults = await opts.sseFaults(plan, target) } catch { throw unhealthy }
        }
        if (faults?.reject !== undefined) {
          // 7.2: refuse (re)connection attempts with 429 or 503, Retry-After and the envelope (1.5, 5.3).
          const { status, retryAfterS } = faults.reject
          opts.record('fault', { fault: 'sse-reject', status, retryAfterS, labels: faults.labels, streamId, tenant: auth.tenantId, keyId: auth.keyId, requestId, lastEventId: req.resume.id ?? null })
          const details = [{ field: 'retryAfter', message: String(retryAfterS) }]
          const h = { 'retry-after': String(retryAfterS) }
          throw status === 429
            ? new ApiError('rate_limited', MESSAGES.rate_limited, details, h)
            : new ApiError('service_unavailable', MESSAGES.service_unavailable, details, h)
        }
        if (!log.healthy()) throw unhealthy
        // Resume faults (7.2): duplicates or a gap, from where the client resumes (resume-faults.ts).
        const resume = await planResume(() => log.window(auth.tenantId), req.resume.id, faults)
        let after = resume.after
        // 4.4: a stream with no id gets every event published after it opened. It opens for the client
        // with `retry:`, written after this plan; on a shared log another instance may store events at
        // any moment, so the starting point is read from the log now (EventLog.position).
        if (after === undefined && log.position !== undefined) {
          try {
            after = await log.position(auth.tenantId)
          } catch {
            throw unhealthy
          }
        }
        return { ...req, streamId, auth, requestId, faults, after, duplicateUpTo: resume.duplicateUpTo, gap: resume.gap, gapNext: resume.gapNext, retryMs: faults?.retryMs ?? opts.retryMs() }
      } catch (err) {
        slots.release(auth.keyId)
        throw err
      }
    },

    /** Give back the slot of a plan that will not be started. */
    abandon (plan: StreamPlan): void {
      slots.release(plan.auth.keyId)
    },

    /** Give back the slot of a stream that has closed. */
    release (keyId: string): void {
      slots.release(keyId)
    }
  }
}

export type StreamPlanner = ReturnType<typeof createStreamPlanner>
