// Nesting limits for JSON (README, "HTTP limits"): checked on the raw text before it is parsed, so a
// body nested 10,000 deep costs one linear scan and a 400, never a parse, a hash or a serialisation that
// runs out of stack. The Fastify content-type parser and the msw handlers call the same function
// through parseBody; values that arrive already parsed (the msw helpers' publish) use valueTooDeep.

/** Whether `raw` (JSON text) nests objects/arrays deeper than `max`. Strings are skipped, escapes honoured. */
export function jsonTooDeep (raw: string, max: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped char
      else if (c === 34) inString = false
      continue
    }
    if (c === 34) inString = true
    else if (c === 123 || c === 91) { if (++depth > max) return true } else if (c === 125 || c === 93) depth--
  }
  return false
}

/** Whether a parsed value nests deeper than `max` (iterative: a deep value cannot overflow the stack here). */
export function valueTooDeep (v: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[v, 1]]
  while (stack.length > 0) {
    const [x, d] = stack.pop()!
    if (x === null || typeof x !== 'object') continue
    if (d > max) return true
    for (const child of Array.isArray(x) ? x : Object.values(x)) if (child !== null && typeof child === 'object') stack.push([child, d + 1])
  }
  return false
}
