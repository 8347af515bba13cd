// The control API of contract 7.1/7.4 under /__harness. Guarded by plugins/control-guard.ts (loopback,
// X-Harness-Token). Answers use the envelope of 1.4 except the record, which is NDJSON (7.4).
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiError } from '../errors.ts'
import { validateFaultPlan } from '../domain/fault-plan.ts'
import { dataEnvelope } from '../pipeline/index.ts'
import { DEFAULT_SCOPES, SLUG_RE } from '../domain/key-store.ts'
import { hostileEvents, hostileWallets } from '../domain/hostile.ts'
import { checkFields, keyFields, objectBody, throwIfDetails } from '../validate.ts'
import type { ErrorDetail } from '../errors.ts'

export default async function controlRoutes (app: FastifyInstance) {
  const config = { control: true }
  const ok = (request: FastifyRequest, data: unknown) => dataEnvelope(request.id, data, app.mock.now())
  const noTenant = (field: string) => new ApiError('not_found', 'No such tenant.', [{ field, message: 'unknown tenant id or slug' }])

  app.post('/__harness/tenants', { config }, function (request, reply) {
    const o = objectBody(request.body ?? {})
    const d: ErrorDetail[] = []
    checkFields(o, ['slug', 'rateLimit', 'quota', 'scopes', 'name', 'network'], d)
    if (o.slug !== undefined && (typeof o.slug !== 'string' || !SLUG_RE.test(o.slug))) d.push({ field: 'slug', message: 'must be 1-32 chars of [a-z0-9] (contract 2.1)' })
    else if (typeof o.slug === 'string' && app.mock.keys.tenant(o.slug) !== undefined) d.push({ field: 'slug', message: 'a tenant with this slug exists' })
    if (o.quota !== undefined && (typeof o.quota !== 'number' || !Number.isInteger(o.quota) || o.quota < 1)) d.push({ field: 'quota', message: 'must be an integer >= 1 (requests per window for the whole tenant)' })
    const input = keyFields(o, d, app.mock.now(), { scopes: DEFAULT_SCOPES })
    throwIfDetails(d, 'The tenant')
    const slug = typeof o.slug === 'string' ? o.slug : app.mock.keys.freeSlug()
    const tenant = app.mock.addTenant(slug, typeof o.quota === 'number' ? { quota: o.quota } : {})
    const { record, key } = app.mock.keys.createKey(tenant, input)
    reply.code(201).send(ok(request, { tenant: { id: tenant.id, slug: tenant.slug }, key: { id: record.id, key } }))
  })

  app.post('/__harness/keys', { config }, function (request, reply) {
    const o = objectBody(request.body)
    const d: ErrorDetail[] = []
    checkFields(o, ['tenant', 'name', 'scopes', 'rateLimit', 'expiresAt', 'network'], d)
    if (typeof o.tenant !== 'string') d.push({ field: 'tenant', message: 'required: the tenant id or slug' })
    const input = keyFields(o, d, app.mock.now(), { scopes: DEFAULT_SCOPES })
    throwIfDetails(d, 'The key')
    const tenant = app.mock.keys.tenant(o.tenant as string)
    if (tenant === undefined) throw noTenant('tenant')
    const { record, key } = app.mock.keys.createKey(tenant, input)
    reply.code(201).send(ok(request, { id: record.id, key }))
  })

  app.delete<{ Params: { id: string } }>('/__harness/keys/:id', { config }, function (request, reply) {
    const k = app.mock.keys.revoke(request.params.id)
    if (k === undefined) throw new ApiError('not_found', 'No such key.', [{ field: 'id', message: 'unknown key id' }])
    reply.send(ok(request, { id: k.id, revokedAt: new Date(k.revokedAtMs!).toISOString() }))
  })

  // Incident response (seed: "Immediately rotate all API keys"): every live key of the tenant revoked
  // in one step; each key's open streams close at once (contract 2.5).
  app.post<{ Params: { tenant: string } }>('/__harness/tenants/:tenant/revoke-keys', { config }, function (request, reply) {
    const tenant = app.mock.keys.tenant(request.params.tenant)
    if (tenant === undefined) throw noTenant('tenant')
    const revoked = app.mock.keys.revokeTenant(tenant.id)
    request.log.info({ tenant: tenant.id, keys: revoked.map((k) => k.id) }, 'every key of the tenant revoked')
    reply.send(ok(request, { tenant: tenant.id, revoked: revoked.map((k) => ({ id: k.id, revokedAt: new Date(k.revokedAtMs!).toISOString() })) }))
  })

  // The hostile drill: publish the hostile events on the tenant's stream and add the hostile wallets
  // to its list (domain/hostile.ts). Answers the sequences and ids, so a judge knows which they are.
  app.post<{ Params: { tenant: string } }>('/__harness/tenants/:tenant/hostile', { config }, async function (request, reply) {
    const o = objectBody(request.body ?? {})
    const d: ErrorDetail[] = []
    checkFields(o, ['events', 'wallets'], d)
    for (const f of ['events', 'wallets'] as const) if (o[f] !== undefined && typeof o[f] !== 'boolean') d.push({ field: f, message: 'must be true or false (default true)' })
    throwIfDetails(d, 'The hostile payload request')
    const tenant = app.mock.keys.tenant(request.params.tenant)
    if (tenant === undefined) throw noTenant('tenant')
    const events: Array<{ seq: number, type: string, kind: string }> = []
    if (o.events !== false) {
      for (const e of hostileEvents()) {
        const stored = await app.mock.events.publish(tenant.id, e.subject, e.data)
        events.push({ seq: stored.seq, type: e.subject, kind: e.kind })
      }
    }
    const wallets: Array<{ id: string, kind: string }> = []
    if (o.wallets !== false) {
      for (const w of hostileWallets(new Date(app.mock.now()).toISOString())) {
        app.mock.wallets.addRaw(tenant.id, w.wallet, w.json)
        wallets.push({ id: w.wallet.id, kind: w.kind })
      }
    }
    request.log.info({ tenant: tenant.id, events: events.length, wallets: wallets.length }, 'hostile payloads injected')
    reply.code(201).send(ok(request, { tenant: tenant.id, events, wallets }))
  })

  app.get('/__harness/tenants', { config }, function (request, reply) {
    reply.send(ok(request, app.mock.keys.tenants().map((t) => ({ id: t.id, slug: t.slug, quota: t.quota ?? null, wallets: app.mock.wallets.count(t.id) }))))
  })

  app.get('/__harness/faults', { config }, function (request, reply) {
    const plan = app.mock.faults
    reply.send(ok(request, { seed: plan.seed, faults: plan.spec.faults, stats: plan.stats() }))
  })

  app.put('/__harness/faults', { config }, function (request, reply) {
    const plan = app.mock.setFaults(validateFaultPlan(request.body))
    request.log.info({ faults: plan.stats().map((s) => s.id), seed: plan.seed }, 'fault plan set')
    reply.send(ok(request, { seed: plan.seed, faults: plan.spec.faults }))
  })

  app.delete('/__harness/faults', { config }, function (request, reply) {
    app.mock.setFaults({ faults: [] })
    reply.send(ok(request, {}))
  })

  app.get('/__harness/record', { config }, function (request, reply) {
    const q = request.query as Record<string, unknown>
    let after = 0
    if (q.after !== undefined) {
      if (typeof q.after !== 'string' || !/^\d{1,15}$/.test(q.after)) throw new ApiError('validation_error', 'after must be a record sequence number.', [{ field: 'after', message: 'must be a non-negative integer' }])
      after = Number(q.after)
    }
    const lines = app.mock.record.ndjsonLines(after)
    const stats = app.mock.record.stats()
    reply
      .header('x-record-last-seq', String(stats.lastSeq))
      .header('x-record-dropped', String(stats.dropped))
      .type('application/x-ndjson')
      .send(Readable.from(lines))
  })

  app.get('/__harness/record/stats', { config }, function (request, reply) {
    reply.send(ok(request, app.mock.record.stats()))
  })

  app.post('/__harness/reset', { config }, function (request, reply) {
    app.mock.reset()
    reply.send(ok(request, {}))
  })
}
