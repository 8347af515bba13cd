#!/usr/bin/env node
// `tenzro-harness`: run a client against the mock and judge it. TypeScript sources run directly on Node >= 22.18 / 24 (type stripping).
import { main } from '../harness/src/cli.ts'

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
}, (err) => {
  process.stderr.write(`tenzro-harness: fatal: ${err?.message ?? err}\n`)
  process.exitCode = 3
})
