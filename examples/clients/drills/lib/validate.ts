// Input validation as the seed asks for it ("validate addresses are properly formatted, check amounts
// are within expected ranges, sanitize all string inputs"), for the drill clients. Nothing here throws:
// each function answers a value or the reason it refuses one.

/** JSON.parse that drops `__proto__`/`constructor` keys and refuses integers JavaScript cannot hold exactly. */
export function safeParse (text: string): { ok: true, value: unknown } | { ok: false, reason: string } {
  let unsafe: string | undefined
  try {
    const value: unknown = JSON.parse(text, function (key, v: unknown, ctx?: { source?: string }) {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') return undefined
      if (typeof v === 'number' && (!Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v)))) unsafe ??= `${key}: ${ctx?.source ?? String(v)} is beyond 2^53`
      return v
    })
    return unsafe === undefined ? { ok: true, value } : { ok: false, reason: unsafe }
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` }
  }
}

const ADDRESS: Record<string, RegExp> = {
  ethereum: /^0x[0-9a-fA-F]{40}$/,
  solana: /^[1-9A-HJ-NP-Za-km-z]{32,44}$/,
  bitcoin: /^(?:bc1[02-9ac-hj-np-z]{11,71}|[13][1-9A-HJ-NP-Za-km-z]{25,34})$/
}

export function validAddress (chain: unknown, address: unknown): boolean {
  return typeof chain === 'string' && typeof address === 'string' && ADDRESS[chain]?.test(address) === true
}

/** A decimal amount string, non-negative, at most 18 decimals, below 10^30. */
export function validAmount (amount: unknown): boolean {
  return typeof amount === 'string' && /^\d{1,30}(?:\.\d{1,18})?$/.test(amount)
}

/** A display string: well-formed UTF-16, at most `max` chars, no markup; the cleaned text or undefined. */
export function cleanText (s: unknown, max = 256): string | undefined {
  if (typeof s !== 'string' || s.length === 0 || s.length > max || !s.isWellFormed()) return undefined
  return s.replace(/[<>"'`]/g, '').replace(/\p{Cc}/gu, '')
}

const KNOWN_TYPES = new Set(['wallet.created', 'wallet.updated', 'ledger.entry.created', 'token.transfer.pending', 'token.transfer.confirmed', 'token.transfer.failed'])

/** Why an event's body is refused, or undefined when it is fit to process. */
export function eventProblem (type: string, data: unknown): string | undefined {
  if (!KNOWN_TYPES.has(type)) return `unknown event type ${cleanText(type, 64) ?? '(unprintable)'}`
  if (typeof data !== 'object' || data === null) return 'no data object'
  const d = data as Record<string, unknown>
  if (typeof d.id !== 'string' || !/^[a-z]+_[A-Za-z0-9]{1,40}$/.test(d.id)) return 'id is not an id'
  if ('name' in d && cleanText(d.name) === undefined) return 'name is not a clean string of at most 256 chars'
  if ('amount' in d && !validAmount(d.amount)) return 'amount is not a non-negative decimal'
  if ('address' in d && !validAddress(d.chain, d.address)) return `address is not valid for ${cleanText(d.chain, 16) ?? 'its chain'}`
  return undefined
}

/** Why a wallet of the list is refused, or undefined. */
export function walletProblem (w: unknown): string | undefined {
  if (typeof w !== 'object' || w === null) return 'not an object'
  const x = w as Record<string, unknown>
  if (typeof x.id !== 'string' || cleanText(x.name) === undefined) return 'id or name invalid'
  if (!['mpc', 'multi-sig', 'single'].includes(x.type as string)) return 'unknown wallet type'
  if (!validAddress(x.chain, x.address)) return 'address invalid for its chain'
  return undefined
}
