// The background event generator of contract 4.5: `rate` events per second per tenant over the
// subjects the mock publishes, with payloads derived from the seed and the tenant, so two runs with the
// same seed publish the same events in the same order (house style principle 3).
import { EVENT_SUBJECTS } from './event-log/types.ts'
import { deriveRandom } from './random.ts'

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
const TOKENS = ['USDC', 'USDT', 'ETH', 'SOL', 'BTC'] as const
const CHAINS = ['ethereum', 'solana', 'bitcoin'] as const
const TYPES = ['mpc', 'multi-sig', 'single'] as const
/** A tick never publishes more than one second's worth, so a stalled loop does not burst afterwards. */
const MAX_BURST_S = 1

export interface EventGeneratorOptions {
  /** Events per second per tenant; 0 turns the generator off. */
  rate: number
  seed: number
  /** Tenant ids to publish for, read on every tick (tenants come and go). */
  tenants: () => readonly string[]
  publish: (tenantId: string, subject: string, data: unknown) => Promise<unknown>
  now?: () => number
  /** Tick period; one timer serves every tenant. */
  tickMs?: number
  setInterval?: (fn: () => void, ms: number) => unknown
  clearInterval?: (handle: unknown) => void
  /** Called when a publish fails (the log is down); the generator keeps going. */
  onError?: (err: Error) => void
}

interface TenantState {
  random: () => number
  n: number
}

export function createEventGenerator (opts: EventGeneratorOptions) {
  const now = opts.now ?? Date.now
  const tickMs = opts.tickMs ?? Math.max(10, Math.min(100, Math.floor(1000 / Math.max(opts.rate, 1))))
  const setTimer = opts.setInterval ?? ((fn: () => void, ms: number) => { const t = setInterval(fn, ms); t.unref(); return t })
  const clearTimer = opts.clearInterval ?? ((h: unknown) => clearInterval(h as NodeJS.Timeout))
  const states = new Map<string, TenantState>()
  let handle: unknown
  let lastTick = 0
  let budget = 0
  let published = 0

  function state (tenantId: string): TenantState {
    let s = states.get(tenantId)
    if (s === undefined) {
      s = { random: deriveRandom(opts.seed, 'events:' + tenantId), n: 0 }
      states.set(tenantId, s)
    }
    return s
  }

  function id (r: () => number, prefix: string): string {
    let out = prefix
    for (let i = 0; i < 16; i++) out += ID_ALPHABET[Math.floor(r() * ID_ALPHABET.length)]
    return out
  }

  /** The next event for a tenant: subject and payload from the tenant's own seeded sequence. */
  function next (tenantId: string): { subject: string, data: Record<string, unknown> } {
    const s = state(tenantId)
    const r = s.random
    s.n++
    const subject = EVENT_SUBJECTS[Math.floor(r() * EVENT_SUBJECTS.length)]!
    const walletId = id(r, 'wal_')
    const amount = (Math.floor(r() * 1_000_000) / 100).toFixed(2)
    switch (subject) {
      case 'wallet.created':
        return { subject, data: { id: walletId, name: `generated-${s.n}`, type: TYPES[Math.floor(r() * TYPES.length)], chain: CHAINS[Math.floor(r() * CHAINS.length)], generated: true } }
      case 'wallet.updated':
        return { subject, data: { id: walletId, name: `generated-${s.n}`, generated: true } }
      case 'ledger.entry.created':
        return { subject, data: { id: id(r, 'led_'), walletId, direction: r() < 0.5 ? 'credit' : 'debit', amount, token: TOKENS[Math.floor(r() * TOKENS.length)], generated: true } }
      default:
        return { subject, data: { id: id(r, 'tx_'), walletId, status: subject.slice('token.transfer.'.length), amount, token: TOKENS[Math.floor(r() * TOKENS.length)], generated: true } }
    }
  }

  function tick (): void {
    const t = now()
    budget = Math.min(budget + (t - lastTick) / 1000 * opts.rate, opts.rate * MAX_BURST_S)
    lastTick = t
    const count = Math.floor(budget)
    if (count <= 0) return
    budget -= count
    for (const tenantId of opts.tenants()) {
      for (let i = 0; i < count; i++) {
        const { subject, data } = next(tenantId)
        published++
        opts.publish(tenantId, subject, data).catch((err: Error) => opts.onError?.(err))
      }
    }
  }

  return {
    /** Start the timer (no-op when rate is 0 or already running). */
    start (): void {
      if (opts.rate <= 0 || handle !== undefined) return
      lastTick = now()
      handle = setTimer(tick, tickMs)
    },
    stop (): void {
      if (handle === undefined) return
      clearTimer(handle)
      handle = undefined
    },
    /** Run one tick now (tests drive the generator with a fake clock). */
    tick,
    next,
    /** Events handed to publish() so far. */
    get published (): number { return published },
    /** Back to the seeded start (mock reset). */
    reset (): void {
      states.clear()
      budget = 0
      lastTick = now()
    }
  }
}

export type EventGenerator = ReturnType<typeof createEventGenerator>
