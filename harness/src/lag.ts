// How late this process's timers ran during a run. A busy machine lengthens every wait a client
// makes (its timer fires late, its request is read late); the jitter verdict of throttling/backoff
// must not take that spread for jitter, so the harness measures it alongside the run and the check
// credits it. The probe is a 20 ms interval: each tick's lateness past its due time is one sample.

/** Timer lateness seen by the harness: samples of [epoch ms when the tick ran, ms it was late]. */
export interface LagTrace {
  intervalMs: number
  /** Only ticks at least 1 ms late are kept (a quiet machine leaves this nearly empty). */
  samples: Array<[atMs: number, lateMs: number]>
}

export const LAG_PROBE_INTERVAL_MS = 20
/** At 20 ms, 30 minutes of ticks: a bound on the probe's memory however long the run. */
const MAX_SAMPLES = 90_000

export function startLagProbe (intervalMs = LAG_PROBE_INTERVAL_MS): { stop: () => LagTrace } {
  const samples: LagTrace['samples'] = []
  let due = performance.now() + intervalMs
  const timer = setInterval(() => {
    const now = performance.now()
    const late = now - due
    // setInterval schedules from when the callback ran: the next tick is due one interval from now.
    due = now + intervalMs
    if (late >= 1 && samples.length < MAX_SAMPLES) samples.push([Date.now(), Math.round(late)])
  }, intervalMs)
  timer.unref()
  return { stop: () => { clearInterval(timer); return { intervalMs, samples } } }
}

/**
 * The longest stretch of lateness the probe saw inside [fromMs, toMs] (epoch ms); 0 without a trace.
 * A tick that ran at `at`, `late` ms late, was held up during [at - late, at]: only the part of that
 * inside the window counts, so a stall that ended just before a wait, or began just after, lends it none.
 */
export function worstLagWithin (trace: LagTrace | undefined, fromMs: number, toMs: number): number {
  if (trace === undefined) return 0
  let worst = 0
  for (const [at, late] of trace.samples) {
    if (at - late >= toMs) break
    const inside = Math.min(at, toMs) - Math.max(at - late, fromMs)
    if (inside > worst) worst = inside
  }
  return worst
}
