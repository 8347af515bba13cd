#!/usr/bin/env -S node --max-semi-space-size=8
// `tenzro-mock` (contract 7.5). A small young generation (8 MB semi-spaces) keeps RSS near the live
// heap under sustained load (V8's default sizing let RSS grow ~380 MB over 1M requests) at no
// measurable CPU cost; `npm run mock` and the compose stack pass the same flag. TypeScript sources run directly on Node >= 22.18 / 24 (type stripping).
import { main } from '../mock-server/src/server.ts'

main(process.argv.slice(2), process.env).then((code) => {
  process.exitCode = code
}, (err) => {
  process.stderr.write(`tenzro-mock: fatal: ${err?.message ?? err}\n`)
  process.exitCode = 3
})
