// Load shapes for scenarios/load.ts, chosen by PROFILE. Open models only (arrival-rate executors): the
// request rate does not drop when the API slows down, so latency under load is measured honestly.
// Pure: plain scenario objects, typed against @types/k6 but importing nothing at run time.
import type { ConstantArrivalRateScenario, RampingArrivalRateScenario, Stage } from 'k6/options'

export const LOAD_PROFILES = ['smoke', 'average', 'stress', 'spike', 'soak'] as const
export type LoadProfile = typeof LOAD_PROFILES[number]

export interface LoadPlan {
  scenario: ConstantArrivalRateScenario | RampingArrivalRateScenario
  /** Iterations the executor will try to start; each iteration is one API request. */
  plannedIterations: number
  peakRate: number
  /** Wall time of the scenario, without graceful stop. */
  durationS: number
}

/** `1h2m3s`, `90s`, `500ms` to seconds. */
export function parseDuration (s: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g
  let total = 0
  let matched = ''
  let m: RegExpExecArray | null
  while ((m = re.exec(s)) !== null) {
    const n = Number(m[1])
    total += m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : n / 1000
    matched += m[0]
  }
  if (matched !== s || s === '') throw new Error(`not a k6 duration: ${JSON.stringify(s)} (use e.g. 30s, 5m, 1h30m)`)
  return total
}

/** Iterations a ramping-arrival-rate executor starts: rates ramp linearly between stage targets. */
export function plannedForStages (startRate: number, stages: Stage[]): number {
  let prev = startRate
  let total = 0
  for (const st of stages) {
    total += ((prev + st.target) / 2) * parseDuration(st.duration)
    prev = st.target
  }
  return Math.round(total)
}

function scale (stages: Array<[string, number]>, factor: number): Stage[] {
  return stages.map(([duration, target]) => ({ duration, target: target === 0 ? 0 : Math.max(1, Math.round(target * factor)) }))
}

/**
 * The plan for a profile. `factor` multiplies every rate (SCALE=2 doubles the load); `soakDuration`
 * sets how long the soak holds its rate.
 */
export function loadPlan (profile: LoadProfile, factor = 1, soakDuration = '2h'): LoadPlan {
  const vus = (peak: number) => ({ preAllocatedVUs: Math.max(2, Math.ceil(peak / 4)), maxVUs: Math.max(10, peak * 4) })
  if (profile === 'smoke') {
    const rate = Math.max(1, Math.round(2 * factor))
    const duration = '30s'
    return {
      scenario: { executor: 'constant-arrival-rate', rate, timeUnit: '1s', duration, ...vus(rate), gracefulStop: '10s' },
      plannedIterations: rate * parseDuration(duration),
      peakRate: rate,
      durationS: parseDuration(duration)
    }
  }
  if (profile === 'soak') {
    const stages = scale([['2m', 10], [soakDuration, 10], ['2m', 0]], factor)
    return ramping(stages, stages[0]!.target, vus)
  }
  const shapes: Record<Exclude<LoadProfile, 'smoke' | 'soak'>, Array<[string, number]>> = {
    // Typical day: ramp to the expected rate, hold, ramp down.
    average: [['1m', 10], ['5m', 10], ['30s', 0]],
    // Beyond the expected rate in steps, to find where latency or errors bend.
    stress: [['1m', 10], ['2m', 30], ['2m', 50], ['3m', 50], ['1m', 0]],
    // A sudden burst from a low base and back.
    spike: [['30s', 2], ['10s', 80], ['1m', 80], ['10s', 2], ['1m', 2], ['10s', 0]]
  }
  const stages = scale(shapes[profile], factor)
  const peak = stages.reduce((p, s) => Math.max(p, s.target), 0)
  return ramping(stages, peak, vus)
}

function ramping (stages: Stage[], peak: number, vus: (peak: number) => { preAllocatedVUs: number, maxVUs: number }): LoadPlan {
  return {
    scenario: { executor: 'ramping-arrival-rate', startRate: 0, timeUnit: '1s', stages, ...vus(peak), gracefulStop: '30s' },
    plannedIterations: plannedForStages(0, stages),
    peakRate: peak,
    durationS: stages.reduce((t, s) => t + parseDuration(s.duration), 0)
  }
}
