import { defaultServerConditions } from 'vite'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // From a checkout, `tenzro-harness/...` self-imports (examples/msw-vitest) resolve to the TypeScript
  // sources, as tsconfig.json's customConditions does for tsc; an installed package resolves to dist/.
  resolve: { conditions: ['tenzro-source'] },
  ssr: { resolve: { conditions: ['tenzro-source', ...defaultServerConditions] } },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts', 'mock-server/test/**/*.test.ts', 'harness/test/**/*.test.ts', 'scenarios/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default']
  }
})
