// A server under test for the benchmarks, in its own process so its CPU and RSS are its own.
// Started by bench/lib.ts with one JSON argument {kind, config?}; answers on IPC with {port, key, tenantId}.
// Kinds: `mock` (buildApp with the given config overrides), `bare` (a plain Fastify route serving the
// same JSON the mock's wallet list serves).
import { openSync } from 'node:fs'
import Fastify from 'fastify'
import pino from 'pino'
import { buildApp } from '../mock-server/src/app.ts'
import { resolveConfig, type MockConfigInput } from '../mock-server/src/config.ts'
import { startTracing, tracingConfigured } from '../mock-server/src/telemetry/sdk.ts'

interface Spec { kind: 'mock' | 'bare', config?: MockConfigInput, logFile?: string }

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec
const send = (msg: unknown) => { process.send?.(msg) }

// The reference payload: the mock's first wallet page for tenant acme on seed 1, captured once.
async function referencePage (): Promise<string> {
  const app = await buildApp(resolveConfig({ logLevel: 'silent' }))
  const tenant = app.mock.keys.tenant('acme')!
  const { key } = app.mock.keys.createKey(tenant, { rateLimit: 1e9 })
  const res = await app.inject({ url: '/api/wallet/list', headers: { 'x-api-key': key, 'x-tenant-id': tenant.id } })
  await app.close()
  return res.body
}

if (spec.kind === 'bare') {
  const body = JSON.parse(await referencePage()) as { data: unknown[], meta: Record<string, unknown> }
  const app = Fastify({ logger: false })
  // The same envelope, built per request like the mock does (request id and timestamp vary).
  app.get('/api/wallet/list', function (request, reply) {
    reply.send({ data: body.data, meta: { ...body.meta, requestId: request.id, timestamp: new Date().toISOString() } })
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const addr = app.server.address()
  send({ port: typeof addr === 'object' && addr !== null ? addr.port : 0, key: 'none', tenantId: 'none' })
} else {
  const logStream = pino.destination({ dest: spec.logFile === undefined ? openSync('/dev/null', 'w') : openSync(spec.logFile, 'a'), sync: false })
  // Tracing from OTEL_* in the child's env, as server.ts does (bench/tracing.ts sets them).
  const tracing = tracingConfigured(process.env) ? await startTracing() : undefined
  const app = await buildApp(resolveConfig({ logLevel: 'info', ...spec.config }), { logStream, tracer: tracing?.tracer, fast: tracing?.fast })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const tenant = app.mock.keys.tenant('acme')!
  const { key } = app.mock.keys.createKey(tenant, { name: 'bench' })
  const addr = app.server.address()
  send({ port: typeof addr === 'object' && addr !== null ? addr.port : 0, key, tenantId: tenant.id })
}
process.on('message', (m) => {
  if (m === 'rss') send({ rss: process.memoryUsage().rss })
  if (m === 'mem') {
    (globalThis as { gc?: () => void }).gc?.()
    const u = process.memoryUsage()
    send({ rssMb: Math.round(u.rss / 1048576), heapUsedMb: Math.round(u.heapUsed / 1048576), heapTotalMb: Math.round(u.heapTotal / 1048576), externalMb: Math.round(u.external / 1048576), arrayBuffersMb: Math.round(u.arrayBuffers / 1048576) })
  }
  // mainUs: the main thread alone (the rest is worker threads: the span sink's exporter when tracing).
  if (m === 'cpu') { const c = process.cpuUsage(); const t = process.threadCpuUsage(); send({ cpuUs: c.user + c.system, userUs: c.user, sysUs: c.system, mainUs: t.user + t.system }) }
  if (m === 'soak') {
    // What a leak shows as (bench/soak.ts): live heap after a full GC, RSS, and handles and listeners.
    (globalThis as { gc?: () => void }).gc?.()
    const u = process.memoryUsage()
    const resources = process.getActiveResourcesInfo()
    const listeners = process.eventNames().reduce((n, e) => n + process.listenerCount(e), 0)
    send({ rssMb: u.rss / 1048576, heapUsedMb: u.heapUsed / 1048576, handles: resources.length, timers: resources.filter((r) => r === 'Timeout').length, processListeners: listeners })
  }
  if (m === 'exit') process.exit(0)
})
