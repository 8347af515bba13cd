// `npm run build` (and so `npm pack` and publish, through prepack): the TypeScript sources compiled to
// dist/ (JavaScript, .d.ts, source maps with the sources inlined, since the .ts files are not
// shipped), the files the compiled code reads at run time beside it, and the OpenAPI description.
// From a checkout nothing needs this: Node runs the sources directly.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = join(root, 'dist')

rmSync(dist, { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })

// harness/src/scan/rules.ts reads the default leak rules at ../../rules from itself.
cpSync(join(root, 'harness/rules'), join(dist, 'harness/rules'), { recursive: true })

const { buildOpenApi } = await import('../mock-server/src/openapi.ts')
const out = join(dist, 'openapi.json')
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify(buildOpenApi(), null, 2) + '\n')
process.stderr.write(`build: dist/ written (${out.slice(root.length)})\n`)
