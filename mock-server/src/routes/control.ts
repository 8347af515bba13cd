// The control API of contract 7.1/7.4 under /__harness. Guarded by plugins/control-guard.ts (loopback,
// X-Harness-Token). Answers use the envelope of 1.4 except the record, which is NDJSON (7.4).
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiError } from '../errors.ts'
import { validateFaultPlan } from '../domain/fault-plan.ts'
import { dataEnvelope } from '../pipeline/index.ts'
import { checkObject, checkQuery, objectBody, throwIfDetails } from '../validate.ts'
import { RECORD_QUERY } from '../schemas.ts'
import { keyCreateInput, tenantCreateInput } from '../control-input.ts'
import { hostileEvents, hostileWallets } from '../domain/hostile.ts'
import type { ErrorDetail } from '../errors.ts'

export default async function controlRoutes (app: FastifyInstance) {
  const config = { control: true }
  const ok = (request: FastifyRequest, data: unknown) => dataEnvelope(request.id, data, app.mock.now())
  const noTenant = (field: string) => new ApiError('not_found', 'No such tenant.', [{ field, message: 'unknown tenant id or slug' }])

  app.post('/__harness/tenants', { config }, function (request, reply) {
    const input = tenantCreateInput(app.mock, request.body)
    const tenant = app.mock.addTenant(input.slug, input.quota !== undefined ? { quota: input.quota } : {})
    const { record, key } = app.mock.keys.createKey(tenant, input.key)
    reply.code(201).send(ok(request, { tenant: { id: tenant.id, slug: tenant.slug }, key: { id: record.id, key } }))
  })

  app.post('/__harness/keys', { config }, function (request, reply) {
    const input = keyCreateInput(app.mock, request.body)
    const { record, key } = app.mock.keys.createKey(input.tenant, input.key)
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
    checkObject({ type: 'object', properties: { events: { type: 'boolean', 'x-message': 'must be true or false (default true)' }, wallets: { type: 'boolean', 'x-message': 'must be true or false (default true)' } }, additionalProperties: false }, o, d)
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

  app.get('/__harness/faults', { config }, async function (request, reply) {
    const plan = app.mock.faults
    // With shared state the counts are every instance's (domain/shared/fault-counters.ts).
    const stats = app.mock.shared === undefined ? plan.stats() : await app.mock.shared.faults.stats(plan)
    return reply.send(ok(request, { seed: plan.seed, faults: plan.spec.faults, stats }))
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

  app.get('/__harness/record', { config }, async function (request, reply) {
    const d: ErrorDetail[] = []
    const q = checkQuery(RECORD_QUERY, request.query, d)
    if (d.length > 0) throw new ApiError('validation_error', 'after must be a record sequence number.', d)
    const after = (q.after as number | undefined) ?? 0
    const shared = app.mock.shared?.record
    if (shared !== undefined) {
      // Instances that share state: every instance's entries, in one order (domain/shared/record.ts).
      const stats = await shared.stats()
      reply
        .header('x-record-last-seq', String(stats.lastSeq))
        .header('x-record-dropped', String(stats.dropped))
        .type('application/x-ndjson')
        .send(Readable.from(shared.lines(after)))
      return reply
    }
    const lines = app.mock.record.ndjsonLines(after)
    const stats = app.mock.record.stats()
    reply
      .header('x-record-last-seq', String(stats.lastSeq))
      .header('x-record-dropped', String(stats.dropped))
      .type('application/x-ndjson')
      .send(Readable.from(lines))
    return reply
  })

  app.get('/__harness/record/stats', { config }, async function (request, reply) {
    const shared = app.mock.shared?.record
    return reply.send(ok(request, shared === undefined ? app.mock.record.stats() : { ...await shared.stats(), instance: app.mock.shared!.instance }))
  })

  app.post('/__harness/reset', { config }, function (request, reply) {
    app.mock.reset()
    reply.send(ok(request, {}))
  })
}
