// The scale-out deployments are validated statically (no cluster, no Docker engine here): the
// Kubernetes manifests beside the k6-operator TestRun parse, wire the Service to the Deployment's pods
// and the TestRun's BASE_URL to the Service, run the mock with options its command line and config
// accept, on shared backends the manifests themselves provide; the compose file's scale example does
// the same with the compose services.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { parseCli } from '../mock-server/src/server.ts'
import { resolveConfig, type MockConfigInput } from '../mock-server/src/config.ts'
import { unsharedBackends } from '../mock-server/src/workers.ts'

type Doc = { apiVersion: string, kind: string, metadata: { name: string, namespace?: string, labels?: Record<string, string> }, spec?: any, data?: Record<string, string> } // eslint-disable-line @typescript-eslint/no-explicit-any

function docs (file: string): Doc[] {
  const parsed = parseAllDocuments(readFileSync(file, 'utf8'))
  for (const d of parsed) expect(d.errors, file).toEqual([])
  return parsed.map((d) => d.toJS() as Doc)
}

describe('Kubernetes manifests (scenarios/k6-operator/tenzro-mock.yaml)', () => {
  const all = docs('scenarios/k6-operator/tenzro-mock.yaml')
  const find = (kind: string, name: string) => {
    const d = all.find((x) => x.kind === kind && x.metadata.name === name)
    expect(d, `${kind} ${name}`).toBeDefined()
    return d!
  }
  const namespace = find('Namespace', 'tenzro').metadata.name
  const services = all.filter((d) => d.kind === 'Service')
  const workloads = all.filter((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet')

  it('every object has a kind, a name and the namespace; every image is pinned', () => {
    for (const d of all) {
      expect(d.apiVersion).toMatch(/^(v1|apps\/v1)$/)
      expect(d.metadata.name).toMatch(/^[a-z0-9-]+$/)
      if (d.kind !== 'Namespace') expect(d.metadata.namespace, `${d.kind} ${d.metadata.name}`).toBe(namespace)
    }
    for (const w of workloads) {
      for (const c of w.spec.template.spec.containers) {
        expect(c.image, c.name).toMatch(/:[^:]*\d[^:]*$/)
        expect(c.image).not.toMatch(/:latest$/)
      }
    }
  })

  it('each Service selects pods of one workload and targets a port its containers name', () => {
    for (const s of services) {
      const w = workloads.filter((x) => Object.entries(s.spec.selector as Record<string, string>).every(([k, v]) => x.spec.template.metadata.labels[k] === v))
      expect(w, `Service ${s.metadata.name}`).toHaveLength(1)
      expect(w[0]!.spec.selector.matchLabels).toEqual(w[0]!.spec.template.metadata.labels)
      const portNames = w[0]!.spec.template.spec.containers.flatMap((c: { ports: Array<{ name: string }> }) => c.ports.map((p) => p.name))
      for (const p of s.spec.ports) expect(portNames, `Service ${s.metadata.name} port ${p.name}`).toContain(p.targetPort)
    }
  })

  it('runs several mock replicas with options the CLI accepts, on the NATS and Redis the manifests provide', () => {
    const mock = find('Deployment', 'tenzro-mock')
    expect(mock.spec.replicas).toBeGreaterThanOrEqual(2)
    const c = mock.spec.template.spec.containers[0]
    const cm = find('ConfigMap', 'tenzro-mock')
    const configPath = c.args[c.args.indexOf('--config') + 1] as string
    const mount = c.volumeMounts.find((m: { mountPath: string }) => configPath.startsWith(m.mountPath + '/'))
    expect(mount).toBeDefined()
    const file = configPath.slice(mount.mountPath.length + 1)
    const parsed = parseCli(c.args.filter((_: string, i: number) => i !== c.args.indexOf('--config') && i !== c.args.indexOf('--config') + 1), {})
    const config = resolveConfig({ ...JSON.parse(cm.data![file]!) as MockConfigInput, ...parsed.input })
    expect(unsharedBackends(config)).toEqual([])
    expect(config.host).toBe('0.0.0.0')
    expect(config.controlAllowRemote).toBe(true)
    expect(c.env.find((e: { name: string }) => e.name === 'TENZRO_MOCK_CONTROL_TOKEN')?.valueFrom?.secretKeyRef).toBeDefined()
    // The backends are this namespace's Services, on the ports they expose.
    const svc = (url: string) => {
      const u = new URL(url)
      const [name, ns] = u.hostname.split('.')
      expect(ns).toBe(namespace)
      const s = services.find((x) => x.metadata.name === name)
      expect(s, url).toBeDefined()
      expect(s!.spec.ports.map((p: { port: number }) => p.port)).toContain(Number(u.port))
      return s!
    }
    expect(svc(config.events.backend).metadata.name).toBe('nats')
    expect(svc(config.rateLimit.store).metadata.name).toBe('redis')
    expect(svc(config.state.store).metadata.name).toBe('redis')
    expect(find('StatefulSet', 'nats').spec.template.spec.containers[0].args).toContain('-js')
    expect(c.ports[0].containerPort).toBe(config.port)
  })

  it('is what the k6-operator TestRun beside it targets', () => {
    const [run] = docs('scenarios/k6-operator/testrun.yaml')
    expect(run!.kind).toBe('TestRun')
    const base = run!.spec.runner.env.find((e: { name: string }) => e.name === 'BASE_URL').value as string
    const u = new URL(base)
    const [name, ns] = u.hostname.split('.')
    const s = services.find((x) => x.metadata.name === name)
    expect(s).toBeDefined()
    expect(ns).toBe(s!.metadata.namespace)
    expect(s!.spec.ports.map((p: { port: number }) => p.port)).toContain(Number(u.port))
    expect(s!.spec.selector).toEqual(find('Deployment', 'tenzro-mock').spec.template.metadata.labels)
  })
})

describe('docker-compose.yml scale example', () => {
  const [compose] = docs('docker-compose.yml') as unknown as Array<{ services: Record<string, any> }> // eslint-disable-line @typescript-eslint/no-explicit-any

  it('runs several replicas of the mock on the same shared backends as the main mock', () => {
    const scaled = compose!.services['mock-scaled']
    expect(scaled.profiles).toEqual(['scale'])
    expect(scaled.deploy.replicas).toBeGreaterThanOrEqual(2)
    expect(scaled.ports).toBeUndefined()
    const configOf = (svc: { command: string[] }) => resolveConfig(parseCli(svc.command.slice(3), {}).input)
    const a = configOf(scaled)
    const b = configOf(compose!.services.mock)
    expect(unsharedBackends(a)).toEqual([])
    expect(unsharedBackends(b)).toEqual([])
    expect([a.state.store, a.rateLimit.store, a.events.backend]).toEqual([b.state.store, b.rateLimit.store, b.events.backend])
    for (const dep of ['nats', 'redis']) expect(compose!.services[dep]).toBeDefined()
  })
})
