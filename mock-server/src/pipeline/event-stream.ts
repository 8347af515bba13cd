// Opening an event stream (contract 4, 5.5, 7.2): the one builder the Fastify route and the msw
// handler both run. The plan (subjects, resume id, slot, faults, duplicate start) is the domain's
// (domain/stream-plan.ts); the frames are written by sse/stream.ts. Between the two steps the caller
// writes the status line and headers, the one part that differs between a socket and a Response.
import type { ServerResponse } from 'node:http'
import type { MockContext } from '../context.ts'
import type { RecordEntryType } from '../domain/record.ts'
import { createStreamPlanner, type StreamPlan, type StreamSlotsLike } from '../domain/stream-plan.ts'
import { retryFrame } from '../sse/frames.ts'
import { SseStream, type SseContext } from '../sse/stream.ts'
import type { StreamRegistry } from '../sse/registry.ts'
import type { AuthContext } from '../types.ts'
import type { HeaderBag } from './request-id.ts'
import { recordedSubjects } from './secrets.ts'

export { parseStreamRequest, type StreamPlan, type StreamRequest, type StreamSlotsLike } from '../domain/stream-plan.ts'

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // Proxies (nginx) must pass frames through as they are written.
  'x-accel-buffering': 'no'
}

export interface EventStreamsOptions {
  context: () => MockContext
  slots: StreamSlotsLike
  registry: StreamRegistry
  /** Where stream entries go; default the context's record (the Fastify app passes one that also makes span events). */
  record?: (type: RecordEntryType, fields: Record<string, unknown>) => void
  /** Hears about an unexpected error inside one stream (which is closed, recorded, and nothing else). */
  onError?: (err: unknown, stream: SseStream) => void
}

/**
 * `prepare` refuses or plans the stream and holds a slot; `start` writes the opening `retry:` frame,
 * records the stream and subscribes it to the log.
 */
export function createEventStreams (opts: EventStreamsOptions) {
  const { slots, registry } = opts
  const first = opts.context()
  const cfg = first.config
  const record = opts.record ?? ((type: RecordEntryType, fields: Record<string, unknown>) => { opts.context().record.append(type, fields) })
  const defaultRetry = retryFrame(cfg.events.retryMs)
  const planner = createStreamPlanner({
    slots,
    faults: () => opts.context().faults,
    events: () => opts.context().events,
    record,
    maxStreamsPerKey: cfg.rateLimit.maxStreamsPerKey,
    retryMs: () => opts.context().config.events.retryMs,
    sseFaults: first.shared === undefined ? undefined : (plan, t) => first.shared!.faults.sse(plan, t)
  })

  function keyState (keyId: string): 'live' | 'revoked' | 'expired' {
    const keys = opts.context().keys
    if (keys.isLive(keyId)) return 'live'
    return keys.key(keyId)?.revokedAtMs === undefined ? 'expired' : 'revoked'
  }
  // What every stream shares (sse/stream.ts SseContext); a stream's own close callback rides as its owner.
  const sse: SseContext = {
    maxBufferedBytes: cfg.events.maxBufferedBytes,
    keyState,
    record,
    now: () => opts.context().now(),
    onClosed (s) {
      registry.remove(s)
      planner.release(s.keyId)
      ;(s.owner as (stream: SseStream) => void)(s)
    },
    ...(opts.onError === undefined ? {} : { onError: opts.onError })
  }

  return {
    unhealthy: planner.unhealthy,
    keyState,

    /** Parse, take a slot (429 too_many_streams), decide the SSE faults, refuse under sse-reject. Throws ApiError. */
    prepare (auth: AuthContext, requestId: string, headers: HeaderBag, query: Record<string, unknown>): Promise<StreamPlan<AuthContext>> {
      return planner.prepare(auth, requestId, headers, query)
    },

    /** Give back the slot of a plan that will not be started. */
    abandon (plan: StreamPlan): void {
      planner.abandon(plan)
    },

    /**
     * Start a prepared stream on `res`, whose status line and headers (SSE_HEADERS and the request's
     * own) the caller has written. `onClosed` runs once when the response has closed, after the slot is
     * given back (the caller records the request there).
     */
    async start (plan: StreamPlan, res: ServerResponse, onClosed: (stream: SseStream) => void): Promise<SseStream> {
      const { auth, streamId, requestId, faults, after, duplicateUpTo } = plan
      res.write(faults?.retryMs === undefined ? defaultRetry : retryFrame(faults.retryMs))
      record('stream', {
        phase: 'open',
        streamId,
        tenant: auth.tenantId,
        keyId: auth.keyId,
        requestId,
        subjects: recordedSubjects(plan.patterns),
        lastEventId: plan.resume.id ?? null,
        retryMs: plan.retryMs,
        faults: faults === undefined || faults.labels.length === 0 ? null : faults.labels
      })
      const stream = new SseStream(sse, {
        streamId,
        res,
        tenantId: auth.tenantId,
        keyId: auth.keyId,
        requestId,
        filter: plan.filter,
        faults,
        duplicateUpTo,
        resumedFrom: plan.resume.id,
        owner: onClosed
      })
      registry.add(stream)
      if (faults?.retryMs !== undefined) stream.fault('sse-retry', { retryMs: faults.retryMs, labels: faults.labels })
      if (plan.resume.id !== undefined) {
        record('resume', { streamId, tenant: auth.tenantId, keyId: auth.keyId, requestId, lastEventId: plan.resume.id, via: plan.resume.via, from: (after ?? plan.resume.id) + 1 })
      }
      if (duplicateUpTo > 0) stream.fault('sse-duplicate', { count: faults!.duplicate, from: after! + 1, to: duplicateUpTo, labels: faults!.labels })
      if (plan.gap !== undefined) stream.faultGap(plan.gap.from, plan.gap.to, faults!.labels)
      if (plan.gapNext) stream.armGap(faults!.labels)
      // The client may have gone while the plan was made: 'close' has fired already and will not again.
      if (res.destroyed) { stream.onClose(); return stream }
      try {
        stream.attach(await opts.context().events.subscribe(auth.tenantId, { after }, stream))
      } catch (err) {
        stream.error(err instanceof Error ? err : new Error(String(err)))
      }
      return stream
    }
  }
}

export type EventStreams = ReturnType<typeof createEventStreams>
