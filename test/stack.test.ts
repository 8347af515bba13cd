// The compose stack and dashboards are validated statically (no Docker engine here): Debian's
// docker-compose parses the file, promtool checks the Prometheus config, images are pinned, the
// mock's command line is one the CLI accepts, and every dashboard query names a provisioned data
// source and a metric the k6 scenarios really emit.
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseCli } from '../mock-server/src/server.ts'
import { resolveConfig } from '../mock-server/src/config.ts'
import { findBinary, skipReason } from '../mock-server/test/helpers/binary.ts'

const DOCKER_COMPOSE = { name: 'docker-compose', envVar: 'DOCKER_COMPOSE_BIN', pkg: 'docker-compose' }
const PROMTOOL = { name: 'promtool', envVar: 'PROMTOOL_BIN', pkg: 'prometheus' }

const compose = readFileSync('docker-compose.yml', 'utf8')

describe('docker-compose.yml', () => {
  it('parses with docker-compose config', () => {
    if (skipReason(DOCKER_COMPOSE) !== undefined) return
    const r = spawnSync(findBinary(DOCKER_COMPOSE)!, ['-f', 'docker-compose.yml', 'config', '-q'], { encoding: 'utf8' })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('pins every image by version, never latest', () => {
    const images = [...compose.matchAll(/^\s*image:\s*(\S+)\s*$/gm)].map((m) => m[1]!)
    expect(images.length).toBeGreaterThanOrEqual(8)
    for (const image of images) {
      expect(image, image).toMatch(/:[^:]*\d[^:]*$/)
      expect(image, image).not.toMatch(/:latest$/)
    }
  })

  it('runs the mock with options its command line accepts', () => {
    const m = /command: \[("node", "--max-semi-space-size=8", "bin\/tenzro-mock\.js"[^\]]*)\]/.exec(compose)
    expect(m).not.toBeNull()
    const args = JSON.parse(`[${m![1]}]`) as string[]
    const { input } = parseCli(args.slice(3), {})
    const config = resolveConfig(input)
    expect(config.events.backend).toBe('nats://nats:4222')
    expect(config.rateLimit.store).toBe('redis://redis:6379')
  })
})

describe('Prometheus config', () => {
  it('passes promtool check config', () => {
    if (skipReason(PROMTOOL) !== undefined) return
    const out = execFileSync(findBinary(PROMTOOL)!, ['check', 'config', 'dashboards/config/prometheus.yml'], { encoding: 'utf8' })
    expect(out).toContain('SUCCESS')
  })

  it('passes promtool check config for a local Prometheus, alert rules included', () => {
    if (skipReason(PROMTOOL) !== undefined) return
    const out = execFileSync(findBinary(PROMTOOL)!, ['check', 'config', 'dashboards/config/prometheus-local.yml'], { encoding: 'utf8' })
    expect(out).toContain('SUCCESS: 13 rules found')
  })
})

describe('dashboards', () => {
  const datasources = readFileSync('dashboards/grafana/provisioning/datasources/datasources.yaml', 'utf8')
  const uids = [...datasources.matchAll(/uid:\s*(\S+)/g)].map((m) => m[1]!)
  const metricsTs = readFileSync('scenarios/lib/metrics.ts', 'utf8')
  const custom = [...metricsTs.matchAll(/new (Counter|Rate|Trend|Gauge)\('([a-z_]+)'\)/g)].map((m) => ({ kind: m[1]!, name: m[2]! }))
  // Names k6's Prometheus remote-write output gives custom metrics: counters get _total, rates _rate.
  const k6Names = new Set([
    ...custom.map((c) => `k6_${c.name}${c.kind === 'Counter' ? '_total' : c.kind === 'Rate' ? '_rate' : ''}`),
    'k6_http_reqs_total', 'k6_http_req_duration_p95', 'k6_http_req_duration_p99', 'k6_http_req_failed_rate', 'k6_vus', 'k6_checks_rate'
  ])

  for (const file of ['dashboards/k6-scenarios.json', 'dashboards/mock.json']) {
    it(`${file} names provisioned data sources and real metrics`, () => {
      const d = JSON.parse(readFileSync(file, 'utf8')) as { uid: string, panels: Array<{ title: string, datasource: { uid: string }, targets: Array<{ expr?: string }> }> }
      expect(d.uid).toMatch(/^tenzro-/)
      expect(d.panels.length).toBeGreaterThan(3)
      for (const p of d.panels) {
        expect(uids, p.title).toContain(p.datasource.uid)
        for (const t of p.targets) {
          for (const metric of (t.expr ?? '').match(/\bk6_[a-z0-9_]+/g) ?? []) expect(k6Names, `${p.title}: ${metric}`).toContain(metric)
        }
      }
    })
  }

  it('the k6 dashboard covers every custom metric of the scenarios', () => {
    const d = readFileSync('dashboards/k6-scenarios.json', 'utf8')
    for (const c of custom) expect(d, c.name).toContain(`k6_${c.name}`)
  })
})
