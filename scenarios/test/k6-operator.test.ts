// The k6-operator TestRun (k6-operator/testrun.yaml), checked offline: against the operator's CRD
// schema (vendored excerpt, k6-operator/testrun-crd.excerpt.yaml), the way the API server and kubectl's
// strict field validation would, and against the scripts it runs; the archive it loads is built by the
// real k6 as the README says.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { parse } from 'yaml'
import { findK6 } from '../../mock-server/test/helpers/binary.ts'
import { LOAD_PROFILES } from '../lib/profiles.ts'
import { SCENARIOS_DIR } from './helper.ts'

interface Schema {
  type?: string
  format?: string
  properties?: Record<string, Schema>
  additionalProperties?: Schema
  items?: Schema
  required?: string[]
  enum?: unknown[]
  pattern?: string
  anyOf?: Schema[]
  $ref?: string
  'x-kubernetes-int-or-string'?: boolean
  'x-excerpt-elided'?: boolean
}

const crd = parse(readFileSync(join(SCENARIOS_DIR, 'k6-operator', 'testrun-crd.excerpt.yaml'), 'utf8')) as {
  spec: { group: string, names: { kind: string }, versions: Array<{ name: string, schema: { openAPIV3Schema: Schema } }> }
  definitions: Record<string, Schema>
}
const manifestText = readFileSync(join(SCENARIOS_DIR, 'k6-operator', 'testrun.yaml'), 'utf8')
const manifest = () => parse(manifestText) as {
  apiVersion: string
  kind: string
  metadata: { name: string }
  spec: { parallelism: number, arguments: string, script: { configMap: { name: string, file: string } }, runner: { image: string, env: Array<{ name: string, value?: string }> } }
}
const [version] = crd.spec.versions
const root = version!.schema.openAPIV3Schema

/**
 * Structural-schema validation as the API server applies it to a custom resource, with unknown fields
 * as errors (kubectl apply's default strict field validation) instead of silently pruned.
 */
function validate (s: Schema, v: unknown, path = ''): string[] {
  if (s.$ref !== undefined) return validate(crd.definitions[s.$ref.replace('#/definitions/', '')]!, v, path)
  const at = path === '' ? '(root)' : path
  if (s['x-kubernetes-int-or-string'] === true) {
    if (typeof v === 'number' && Number.isInteger(v)) return []
    if (typeof v !== 'string') return [`${at}: must be an integer or a string`]
    return s.pattern === undefined || new RegExp(s.pattern).test(v) ? [] : [`${at}: ${JSON.stringify(v)} does not match ${s.pattern}`]
  }
  const type = Array.isArray(v) ? 'array' : v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v
  if (s.type !== undefined && s.type !== type && !(s.type === 'number' && type === 'integer')) return [`${at}: must be ${s.type}, is ${type}`]
  if (s['x-excerpt-elided'] === true) return []
  const errors: string[] = []
  if (s.enum !== undefined && !s.enum.includes(v)) errors.push(`${at}: must be one of ${JSON.stringify(s.enum)}`)
  if (s.format === 'int32' && typeof v === 'number' && (v < -(2 ** 31) || v >= 2 ** 31)) errors.push(`${at}: out of int32 range`)
  if (s.pattern !== undefined && typeof v === 'string' && !new RegExp(s.pattern).test(v)) errors.push(`${at}: does not match ${s.pattern}`)
  if (type === 'array' && s.items !== undefined) (v as unknown[]).forEach((x, i) => errors.push(...validate(s.items!, x, `${path}[${i}]`)))
  if (type === 'object' && (s.properties !== undefined || s.additionalProperties !== undefined)) {
    const o = v as Record<string, unknown>
    for (const r of s.required ?? []) if (!(r in o)) errors.push(`${path}.${r}: required`)
    for (const [k, x] of Object.entries(o)) {
      const sub = s.properties?.[k] ?? s.additionalProperties
      if (sub === undefined) errors.push(`${path}.${k}: unknown field`)
      else errors.push(...validate(sub, x, `${path}.${k}`))
    }
  }
  return errors
}

describe('the TestRun manifest against the operator\'s CRD schema', () => {
  test('is a TestRun of the CRD\'s group and version, named as Kubernetes requires', () => {
    const m = manifest()
    expect(m.apiVersion).toBe(`${crd.spec.group}/${version!.name}`)
    expect(m.kind).toBe(crd.spec.names.kind)
    // metadata.name: an RFC 1123 subdomain; the operator also names pods after it, so keep it a label.
    expect(m.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/)
  })

  test('validates: every field known, of its type, required ones present', () => {
    expect(validate(root, manifest())).toEqual([])
  })

  test.each([
    ['a misspelt field', (m: any) => { m.spec.runner.enviroment = m.spec.runner.env }, '.spec.runner.enviroment: unknown field'], // eslint-disable-line @typescript-eslint/no-explicit-any
    ['parallelism as a string', (m: any) => { m.spec.parallelism = '4' }, '.spec.parallelism: must be integer, is string'], // eslint-disable-line @typescript-eslint/no-explicit-any
    ['no script', (m: any) => { delete m.spec.script }, '.spec.script: required'], // eslint-disable-line @typescript-eslint/no-explicit-any
    ['an unknown cleanup', (m: any) => { m.spec.cleanup = 'pre' }, '.spec.cleanup: must be one of ["post"]'], // eslint-disable-line @typescript-eslint/no-explicit-any
    ['an env var without a name', (m: any) => { m.spec.runner.env.push({ value: 'x' }) }, 'required'], // eslint-disable-line @typescript-eslint/no-explicit-any
    ['a secret ref without a key', (m: any) => { m.spec.runner.env[1].valueFrom.secretKeyRef = { name: 'tenzro-k6' } }, '.spec.runner.env[1].valueFrom.secretKeyRef.key: required'], // eslint-disable-line @typescript-eslint/no-explicit-any
    ['a CPU limit that is no quantity', (m: any) => { m.spec.runner.resources.limits.cpu = 'half' }, '.spec.runner.resources.limits.cpu: "half" does not match'] // eslint-disable-line @typescript-eslint/no-explicit-any
  ])('the validation rejects %s', (_what, spoil, message) => {
    const m = manifest()
    spoil(m)
    expect(validate(root, m).join('\n')).toContain(message)
  })
})

describe('the TestRun manifest against the scripts', () => {
  const m = manifest()
  const env = Object.fromEntries(m.spec.runner.env.map((e) => [e.name, e.value]))

  test('sets only variables the scripts or k6 read, and a PROFILE load.ts has', () => {
    const sources = ['lib/config.ts', 'load.ts'].map((f) => readFileSync(join(SCENARIOS_DIR, f), 'utf8')).join('\n')
    for (const name of Object.keys(env)) {
      if (name.startsWith('K6_')) continue
      expect(sources, name).toMatch(new RegExp(`(env|__ENV)\\.${name}\\b|'${name}'`))
    }
    expect(LOAD_PROFILES).toContain(env.PROFILE)
    expect(env.BASE_URL).toMatch(/^https?:\/\//)
  })

  test('pins a k6 image the scripts support, and gives the remote-write output its server', () => {
    const tag = /^grafana\/k6:(\d+)\.(\d+)\.(\d+)$/.exec(m.spec.runner.image)
    expect(tag, m.spec.runner.image).not.toBeNull()
    expect(Number(tag![1]) * 1000 + Number(tag![2])).toBeGreaterThanOrEqual(1003)
    expect(m.spec.arguments).toMatch(/-o experimental-prometheus-rw\b/)
    expect(env.K6_PROMETHEUS_RW_SERVER_URL).toMatch(/^https?:\/\/.*\/api\/v1\/write$/)
    expect(m.spec.parallelism).toBeGreaterThan(0)
  })

  const k6 = findK6('the k6 archive of the TestRun')
  const dir = mkdtempSync(join(tmpdir(), 'k6-archive-'))
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

  test.skipIf(k6.path === undefined)('the archive the README builds fits a ConfigMap and holds the load scenario of its PROFILE', () => {
    const tar = join(dir, m.spec.script.configMap.file)
    execFileSync(k6.path!, ['archive', '-e', `PROFILE=${env.PROFILE!}`, join(SCENARIOS_DIR, 'load.ts'), '-O', tar], { stdio: 'pipe', env: { PATH: process.env.PATH, HOME: dir, K6_NO_USAGE_REPORT: 'true' } })
    // A ConfigMap holds at most 1 MiB.
    expect(statSync(tar).size).toBeLessThan(1024 * 1024)
    const options = JSON.parse(execFileSync(k6.path!, ['inspect', tar], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir } })) as { scenarios: Record<string, { executor: string }> }
    expect(Object.keys(options.scenarios)).toEqual([env.PROFILE])
    expect(options.scenarios[env.PROFILE!]!.executor).toBe('ramping-arrival-rate')
  })
})
