// The good client: built on the reference client (harness/src/client), it does everything the checks
// ask for. It lists wallets, creates wallets and consumes the event stream until SIGTERM, using only
// TENZRO_API_URL, TENZRO_API_KEY, TENZRO_TENANT_ID and OTEL_EXPORTER_OTLP_ENDPOINT.
//   tenzro-harness verify -- node examples/clients/good.ts
import { createTenzroClient, isTenzroApiError } from '../../harness/src/client/index.ts'
import { log, readEnv, sleep, stopSignal } from './lib/env.ts'
import { startTracing } from './lib/tracing.ts'

const env = readEnv()
const stopTracing = await startTracing('tenzro-example-good')
const signal = stopSignal()
// Optional, for the harness's own short scenarios: which parts run, and the heartbeat to expect.
const parts = new Set((process.env.TENZRO_CLIENT_PARTS ?? 'list,create,events').split(','))
const heartbeatTimeoutMs = Number(process.env.TENZRO_HEARTBEAT_TIMEOUT_MS ?? 37_500)

const client = createTenzroClient({
  baseUrl: env.baseUrl,
  apiKey: env.apiKey,
  tenantId: env.tenantId,
  // The network the key is for, when the harness says (the environments drill binds the key to one).
  ...(process.env.TENZRO_NETWORK === undefined ? {} : { network: process.env.TENZRO_NETWORK as 'devnet' | 'testnet' | 'mainnet' }),
  logger: {
    warn: (o, m) => log('warn', m, o),
    error: (o, m) => log('error', m, o)
  }
})

/** A refused key (401/403) stops everything: retrying cannot fix it, and hammering is a hot loop. */
const refused = new AbortController()
const stop = AbortSignal.any([signal, refused.signal])
function handle (err: unknown, what: string): void {
  if (stop.aborted) return
  if (isTenzroApiError(err) && (err.status === 401 || err.status === 403)) {
    log('error', `${what}: key refused (${err.code}); stopping`, { requestId: err.requestId })
    refused.abort()
    return
  }
  log('warn', `${what} failed`, { error: isTenzroApiError(err) ? err.toJSON() : String(err) })
}

async function listLoop (): Promise<void> {
  while (!stop.aborted) {
    try {
      const page = await client.wallets.list({ limit: 20, signal: stop })
      log('info', 'listed wallets', { count: page.wallets.length, requestId: page.requestId })
    } catch (err) { handle(err, 'list') }
    await sleep(150, stop)
  }
}

async function createLoop (): Promise<void> {
  for (let i = 1; !stop.aborted; i++) {
    try {
      const r = await client.wallets.create({ name: `example ${i}`, type: 'mpc', chain: 'ethereum' }, { signal: stop })
      log('info', 'created wallet', { id: r.wallet.id, replayed: r.replayed })
    } catch (err) { handle(err, 'create') }
    await sleep(1000, stop)
  }
}

async function eventLoop (): Promise<void> {
  try {
    const r = await client.events.consume({
      signal: stop,
      heartbeatTimeoutMs,
      handler: (e) => { log('info', 'event', { id: e.id, subject: e.subject }) },
      onGap: async (gap) => {
        log('warn', 'events lost; resynchronising', { from: gap.from, to: gap.to })
        // A failed resync must not stop the consumer: try again (the client backs off inside), and
        // give up on this gap only when stopping or when the key is refused.
        while (!stop.aborted) {
          try {
            let n = 0
            for await (const _w of client.wallets.all({ signal: stop })) n++
            log('info', 'resynchronised', { wallets: n })
            return
          } catch (err) {
            handle(err, 'resync')
            await sleep(1000, stop)
          }
        }
      }
    })
    log('info', 'event stream closed', { handled: r.handled, duplicates: r.duplicates, reconnects: r.reconnects })
  } catch (err) { handle(err, 'events') }
}

await Promise.all([
  parts.has('list') ? listLoop() : undefined,
  parts.has('create') ? createLoop() : undefined,
  parts.has('events') ? eventLoop() : undefined
])
// Stay up until told to stop (after a refused key too), so the last spans are flushed on SIGTERM; a
// pending promise alone does not keep Node running.
if (!signal.aborted) {
  const keepAlive = setInterval(() => {}, 60_000)
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
  clearInterval(keepAlive)
}
await stopTracing()
