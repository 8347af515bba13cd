// The pure helpers of scenarios/lib: configuration from __ENV, load profiles, W3C traceparent.
import { describe, test, expect } from 'vitest'
import { budgetMs, ConfigError, intFromEnv, keyPrefix, parseKeyList, readConfig, tenantOfKey } from '../lib/config.ts'
import { LOAD_PROFILES, loadPlan, parseDuration, plannedForStages } from '../lib/profiles.ts'
import { createTracer, formatTraceparent, randomId } from '../lib/trace.ts'

const KEY = 'tnz_acme_' + 'FAKE'.repeat(10) + 'FAK'
const profiles = { profile: 'full', profiles: ['smoke', 'full'] }

describe('readConfig', () => {
  test('LATENCY_SCALE multiplies latency budgets, 1 by default, and refuses what is not a number', () => {
    expect(budgetMs(readConfig({ API_KEY: KEY }, profiles), 300)).toBe(300)
    expect(budgetMs(readConfig({ API_KEY: KEY, LATENCY_SCALE: '2.5' }, profiles), 300)).toBe(750)
    expect(() => readConfig({ API_KEY: KEY, LATENCY_SCALE: 'fast' }, profiles)).toThrow(/LATENCY_SCALE=fast must be a number/)
  })

  test('defaults to the local mock and takes the tenant from the key (contract 2.1, 2.2)', () => {
    const c = readConfig({ API_KEY: KEY }, profiles)
    expect(c).toMatchObject({ baseUrl: 'http://127.0.0.1:4010', apiKey: KEY, tenantId: 'acme', controlUrl: undefined, profile: 'full', summaryDir: '.' })
  })

  test('TENANT_ID wins over the key, trailing slashes go, blank values count as unset', () => {
    const c = readConfig({ BASE_URL: 'https://api.platform.tenzro.com/', API_KEY: KEY, TENANT_ID: '6f1c2d3e', CONTROL_URL: ' ', PROFILE: 'smoke', SUMMARY_DIR: 'reports/k6/' }, profiles)
    expect(c).toMatchObject({ baseUrl: 'https://api.platform.tenzro.com', tenantId: '6f1c2d3e', controlUrl: undefined, profile: 'smoke', summaryDir: 'reports/k6' })
  })

  test('says what to set when a value is unusable', () => {
    expect(() => readConfig({ BASE_URL: 'localhost:4010' }, profiles)).toThrow(/BASE_URL=localhost:4010 is not an http\(s\) URL/)
    expect(() => readConfig({ PROFILE: 'stress' }, profiles)).toThrow(ConfigError)
    expect(() => readConfig({ PROFILE: 'stress' }, profiles)).toThrow(/use one of: smoke, full/)
    expect(() => intFromEnv({ VUS: '2.5' }, 'VUS', 1)).toThrow(/VUS=2.5 must be an integer 1..1000000/)
    expect(intFromEnv({}, 'VUS', 7)).toBe(7)
  })

  test('reads a key list for spreading load, with explicit tenants where the key has none', () => {
    expect(parseKeyList(`${KEY}, tnz_globex_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAK@6f1c`)).toEqual([
      { apiKey: KEY, tenantId: 'acme' },
      { apiKey: 'tnz_globex_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAK', tenantId: '6f1c' }
    ])
    expect(() => parseKeyList('not-a-key')).toThrow(/write it as <key>@<tenant>/)
    expect(parseKeyList(undefined)).toEqual([])
  })

  test('never shows more of a key than its first 12 chars', () => {
    expect(keyPrefix(KEY)).toBe('tnz_acme_FAK…')
    expect(tenantOfKey('tnz_Acme_x')).toBeUndefined()
  })
})

describe('load profiles', () => {
  test('parses k6 durations and refuses anything else', () => {
    expect(parseDuration('1h2m3s')).toBe(3723)
    expect(parseDuration('500ms')).toBe(0.5)
    expect(() => parseDuration('5 minutes')).toThrow(/not a k6 duration/)
    expect(() => parseDuration('')).toThrow()
  })

  test('counts the iterations a ramping-arrival-rate executor starts', () => {
    expect(plannedForStages(0, [{ duration: '10s', target: 10 }, { duration: '10s', target: 10 }, { duration: '10s', target: 0 }])).toBe(200)
  })

  test('every profile is an open model, and smoke stays under a minute', () => {
    for (const p of LOAD_PROFILES) {
      const plan = loadPlan(p)
      expect(plan.scenario.executor, p).toMatch(/arrival-rate$/)
      expect(plan.plannedIterations, p).toBeGreaterThan(0)
    }
    expect(loadPlan('smoke').durationS).toBeLessThan(60)
    expect(loadPlan('spike').peakRate).toBeGreaterThan(loadPlan('average').peakRate * 4)
  })

  test('SCALE multiplies the rates and SOAK_DURATION the soak', () => {
    expect(loadPlan('stress', 2).peakRate).toBe(2 * loadPlan('stress').peakRate)
    expect(loadPlan('soak', 1, '30m').durationS).toBe(34 * 60)
  })
})

describe('traceparent', () => {
  const counter = () => { let n = 0; return (k: number) => Uint8Array.from({ length: k }, () => (n++ & 255)) }

  test('formats version 00, 32 + 16 lower-case hex, sampled (W3C Trace Context 3.2)', () => {
    expect(formatTraceparent('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331')).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')
    expect(() => formatTraceparent('0'.repeat(32), 'b7ad6b7169203331')).toThrow(/not all zero/)
    expect(() => formatTraceparent('0AF7651916CD43DD8448EB211C80319C', 'b7ad6b7169203331')).toThrow()
  })

  test('never returns an all-zero id, whatever the random source gives', () => {
    expect(randomId((n) => new Uint8Array(n), 8)).toBe('0000000000000001')
  })

  test('keeps one trace per iteration and a new span per request', () => {
    const t = createTracer(counter())
    const a = t.traceparent('1:0')
    const b = t.traceparent('1:0')
    const c = t.traceparent('1:1')
    expect(a.slice(3, 35)).toBe(b.slice(3, 35))
    expect(a.slice(36, 52)).not.toBe(b.slice(36, 52))
    expect(c.slice(3, 35)).not.toBe(a.slice(3, 35))
    expect(c).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
  })
})
