// bench/lib.ts comparePaired and medianInterval: the paired, many-process comparison the metrics bench
// reports. A short real run (two pairs of real server processes, loaded by autocannon) so a bench that
// would crash or hang on its plumbing fails here, not in a figure-taking run.
import { describe, expect, it } from 'vitest'
import { comparePaired, median, medianInterval } from '../lib.ts'

describe('medianInterval', () => {
  it('is the value itself for a constant sample, and holds the median of a spread one', () => {
    expect(medianInterval([0.97, 0.97, 0.97, 0.97])).toEqual([0.97, 0.97])
    const xs = [0.86, 0.91, 0.93, 0.95, 0.96, 0.98, 0.99, 1.02, 1.08]
    const [lo, hi] = medianInterval(xs)
    expect(lo).toBeLessThanOrEqual(median(xs))
    expect(hi).toBeGreaterThanOrEqual(median(xs))
    expect(lo).toBeGreaterThanOrEqual(0.86)
    expect(hi).toBeLessThanOrEqual(1.08)
    expect(hi - lo).toBeLessThan(1.08 - 0.86)
  })
})

describe('comparePaired', () => {
  it('starts fresh processes for each pair, both with that pair\'s hash seed, and reports each pair', async () => {
    const besides: number[] = []
    const seen: string[] = []
    const r = await comparePaired('bare vs bare', { kind: 'bare' }, { kind: 'bare' }, {
      pairs: 2,
      rounds: 1,
      durationS: 0.5,
      connections: 4,
      beside: (c, b) => { besides.push(c.child.pid!, b.child.pid!); return () => {} },
      after: async (c, b) => { seen.push(c.child.spawnargs.join(' '), b.child.spawnargs.join(' ')) }
    })
    expect(r.pairRatios).toHaveLength(2)
    expect(new Set(besides).size).toBe(4)
    expect(r.hashSeeds).toHaveLength(2)
    // Both servers of a pair run with that pair's seed.
    for (let p = 0; p < 2; p++) {
      for (const args of seen.slice(2 * p, 2 * p + 2)) expect(args).toContain(`--hash-seed=${r.hashSeeds[p]}`)
    }
    expect(r.non2xxOrErrors).toBe(0)
    for (const x of r.pairRatios) expect(x).toBeGreaterThan(0)
    expect(r.ratioInterval95[0]).toBeLessThanOrEqual(r.ratio)
    expect(r.ratioInterval95[1]).toBeGreaterThanOrEqual(r.ratio)
  })
})
