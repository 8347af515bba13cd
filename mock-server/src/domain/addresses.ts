// Chain addresses that pass real validators (contract 3.1, decided): EIP-55 checksummed Ethereum,
// base58 of 32 bytes for Solana, bech32 segwit v0 (P2WPKH, bc1q...) for Bitcoin.
import { keccak_256 } from '@noble/hashes/sha3.js'
import { base58, bech32 } from '@scure/base'

export type Chain = 'ethereum' | 'solana' | 'bitcoin'

/** EIP-55: uppercase each hex letter whose nibble in keccak256(lowercase hex) is >= 8. */
export function eip55 (hex40: string): string {
  const lower = hex40.toLowerCase()
  const digest = keccak_256(new TextEncoder().encode(lower))
  let out = '0x'
  for (let i = 0; i < 40; i++) {
    const c = lower[i]!
    const nibble = (digest[i >> 1]! >> (i % 2 === 0 ? 4 : 0)) & 0x0f
    out += nibble >= 8 ? c.toUpperCase() : c
  }
  return out
}

export function addressFor (chain: Chain, bytes: Uint8Array): string {
  switch (chain) {
    case 'ethereum':
      return eip55(Buffer.from(bytes.subarray(0, 20)).toString('hex'))
    case 'solana':
      return base58.encode(bytes.subarray(0, 32))
    case 'bitcoin':
      // BIP-173: witness version 0, then the 20-byte program as 5-bit words.
      return bech32.encode('bc', [0, ...bech32.toWords(bytes.subarray(0, 20))])
  }
}

export function isValidAddress (chain: Chain, address: string): boolean {
  try {
    switch (chain) {
      case 'ethereum':
        return /^0x[0-9a-fA-F]{40}$/.test(address) && eip55(address.slice(2)) === address
      case 'solana':
        return base58.decode(address).length === 32
      case 'bitcoin': {
        const { prefix, words } = bech32.decode(address as `${string}1${string}`)
        return prefix === 'bc' && words[0] === 0 && bech32.fromWords(words.slice(1)).length === 20
      }
    }
  } catch {
    return false
  }
}
