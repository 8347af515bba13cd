import { createTenzroClient } from '/work/main/harness/src/client/index.ts'
import { startServer } from '/work/main/bench/lib.ts'
const server = await startServer({ kind: 'mock', config: { logLevel: 'silent', rateLimit: { limit: 1_000_000_000 } } })
const client = createTenzroClient({ baseUrl: server.url, apiKey: server.key, tenantId: server.tenantId, limit: { limit: 1_000_000, windowMs: 60_000 } })
const url = server.url + '/api/wallet/list'
const init = { method: 'GET', headers: { 'x-api-key': server.key, 'x-tenant-id': server.tenantId, accept: 'application/json' } }
const mode = process.argv[2]
async function run (n: number) {
  let left = n
  const w = async () => { while (left-- > 0) { if (mode === 'bare') { const r = await fetch(url, init); JSON.parse(await r.text()) } else await client.wallets.list() } }
  const c0 = process.cpuUsage(); const t0 = performance.now()
  await Promise.all(Array.from({ length: 16 }, w))
  const c = process.cpuUsage(c0)
  console.log(mode, ((c.user + c.system) / n).toFixed(1), 'us/req', (n / (performance.now() - t0) * 1000).toFixed(0), 'rps')
}
await run(2000); await run(6000)
await server.stop()
