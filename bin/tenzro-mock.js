#!/usr/bin/env -S node --max-semi-space-size=8
// `tenzro-mock` (contract 7.5). A small young generation (8 MB semi-spaces) keeps RSS near the live
// heap under sustained load (V8's default sizing let RSS grow ~380 MB over 1M requests) at no
// measurable CPU cost; `npm run mock` and the compose stack pass the same flag. From a checkout the
// TypeScript sources run directly (type stripping, Node >= 22.18 or 24); an installed package has no
// sources, only the compiled dist/ (Node refuses to strip types under node_modules), so the launcher
// takes whichever of the two is there, the sources first.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const source = new URL('../mock-server/src/server.ts', import.meta.url)
const { main } = await import(existsSync(fileURLToPath(source)) ? source.href : '../dist/mock-server/src/server.js')

main(process.argv.slice(2), process.env).then((code) => {
  process.exitCode = code
}, (err) => {
  process.stderr.write(`tenzro-mock: fatal: ${err?.message ?? err}\n`)
  process.exitCode = 3
})
