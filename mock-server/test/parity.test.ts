// One contract suite, two mocks (issue 5): every case in parity/cases.ts runs against the Fastify mock
// over a real socket and against the msw handlers in process, asserts the contract on each, and then
// the two mocks' normalised answers must be equal, so neither can drift from the other unnoticed.
import { describe, expect, it } from 'vitest'
import { CASES } from './parity/cases.ts'
import type { Observation } from './parity/observe.ts'
import { TARGETS, type TargetName } from './parity/targets.ts'

const seen = new Map<string, Partial<Record<TargetName, Observation[]>>>()

describe.each(TARGETS)('the $name mock', ({ name, start }) => {
  for (const c of CASES) {
    it(c.name, async () => {
      const t = await start(c.config ?? {})
      try {
        const observations = await c.run(t)
        seen.set(c.name, { ...seen.get(c.name), [name]: observations })
      } finally {
        await t.close()
      }
    })
  }
})

describe('the Fastify mock and the msw handlers', () => {
  for (const c of CASES) {
    it(`give identical normalised answers: ${c.name}`, () => {
      const both = seen.get(c.name)
      expect(both?.fastify, 'the Fastify run of this case failed or did not run').toBeDefined()
      expect(both?.msw, 'the msw run of this case failed or did not run').toBeDefined()
      expect(both!.msw).toEqual(both!.fastify)
    })
  }
})
