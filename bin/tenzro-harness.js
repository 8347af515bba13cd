#!/usr/bin/env node
// `tenzro-harness`. From a checkout the TypeScript sources run directly (type stripping, Node >= 22.18
// or 24); an installed package has no sources, only the compiled dist/ (Node refuses to strip types
// under node_modules), so the launcher takes whichever of the two is there, the sources first.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const source = new URL('../harness/src/cli.ts', import.meta.url)
const { main } = await import(existsSync(fileURLToPath(source)) ? source.href : '../dist/harness/src/cli.js')

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
}, (err) => {
  process.stderr.write(`tenzro-harness: fatal: ${err?.message ?? err}\n`)
  process.exitCode = 3
})
