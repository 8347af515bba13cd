// GET /metrics (Prometheus text 0.0.4, or OpenMetrics 1.0 with exemplars when the scraper asks for
// it, as Prometheus does). The metrics are derived from the record as entries are appended
// (metrics/mock-metrics.ts): this plugin adds no hook to the request path. Public like /health
// (contract 1.7): it never rate limits and holds no key, key id or request id, only bounded labels.
import fp from 'fastify-plugin'
import type { MockContext } from '../context.ts'
import { createMockMetrics, type SpanCounts } from '../metrics/mock-metrics.ts'

export default fp(async function metrics (app, opts: { context: () => MockContext, maxTenants: number, spanStats?: () => SpanCounts }) {
  const m = createMockMetrics({ context: opts.context, maxTenants: opts.maxTenants, spanStats: opts.spanStats })
  opts.context().record.observe(m.observe)
  app.addHook('onClose', function (_app, done) {
    opts.context().record.observe(undefined)
    done()
  })
  app.get('/metrics', { config: { public: true, rateLimit: false } }, async function (request, reply) {
    const { contentType, body } = await m.scrape(request.headers.accept)
    reply.header('cache-control', 'no-store').type(contentType).send(body)
  })
}, { name: 'mock-metrics' })
