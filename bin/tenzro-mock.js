#!/usr/bin/env node
// `tenzro-mock` (contract 7.5). TypeScript sources run directly on Node >= 22.18 / 24 (type stripping).
import { main } from '../mock-server/src/server.ts'

main(process.argv.slice(2), process.env).then((code) => {
  process.exitCode = code
}, (err) => {
  process.stderr.write(`tenzro-mock: fatal: ${err?.message ?? err}\n`)
  process.exitCode = 3
})
