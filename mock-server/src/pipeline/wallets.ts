// Route bodies of the wallet API (contract 3): the list page and wallet creation, shared by the
// Fastify routes and the msw handlers.
import type { MockContext } from '../context.ts'
import type { AuthContext } from '../types.ts'
import type { Wallet, WalletStore } from '../domain/wallet-store.ts'
import { walletCreateBody, walletListQuery } from '../validate.ts'
import { ApiError } from '../errors.ts'
import { isoTime } from './envelopes.ts'

const badCursor = new ApiError('validation_error', 'The cursor was not issued by this API to this tenant; start again without a cursor.', [{ field: 'cursor', message: 'not a valid cursor for this tenant' }])

// A cursor names a tenant and a position, and its MAC is keyed per store: the same pair always gives
// the same text, so the few a load test walks through are made once (a MAC is a hash per request).
const cursors = new WeakMap<WalletStore, Map<string, Map<number, string>>>()
const MAX_CACHED_CURSORS = 4096

function nextCursor (wallets: WalletStore, tenantId: string, before: number): string {
  let byTenant = cursors.get(wallets)
  if (byTenant === undefined) {
    byTenant = new Map()
    cursors.set(wallets, byTenant)
  }
  let m = byTenant.get(tenantId)
  if (m === undefined) {
    if (byTenant.size >= MAX_CACHED_CURSORS) byTenant.clear()
    m = new Map()
    byTenant.set(tenantId, m)
  }
  let c = m.get(before)
  if (c === undefined) {
    c = wallets.encodeCursor(tenantId, before)
    if (m.size >= MAX_CACHED_CURSORS) m.clear()
    m.set(before, c)
  }
  return c
}

/**
 * GET /api/wallet/list (3.2) as the JSON text of the whole answer. The page is spliced from per-wallet
 * JSON cached at creation (fields fixed by the store, contract 3.1): the list is the hot path of every load test.
 */
export function walletListPayload (mock: MockContext, auth: AuthContext, query: unknown, requestId: string): string {
  const { limit, cursor, chain } = walletListQuery(query)
  let before: number | undefined
  if (cursor !== undefined) {
    before = mock.wallets.decodeCursor(auth.tenantId, cursor)
    if (before === undefined) throw badCursor
  }
  const page = mock.wallets.list(auth.tenantId, { limit, before, chain })
  const next = page.nextBefore === undefined ? null : nextCursor(mock.wallets, auth.tenantId, page.nextBefore)
  return '{"data":' + page.json + ',"meta":{"requestId":' + JSON.stringify(requestId) + ',"timestamp":"' + isoTime(mock.now()) +
    '","cursor":' + (next === null ? 'null' : '"' + next + '"') + ',"hasMore":' + (next !== null) + '}}'
}

/**
 * POST /api/wallet/create (3.3): validate, create, then publish wallet.created. Published after the
 * wallet exists; a slow or failing event log never loses the wallet (`onPublishError` hears about it).
 */
export async function createWallet (
  mock: MockContext,
  auth: AuthContext,
  body: unknown,
  onPublishError?: (err: Error) => void,
  /** How to publish (the Fastify route passes one that makes a producer span); default the event log's. */
  publish?: (tenantId: string, subject: string, data: unknown) => Promise<unknown>
): Promise<Wallet> {
  const input = walletCreateBody(body)
  const wallet = mock.wallets.create(auth.tenantId, input)
  if (mock.events !== undefined) {
    try {
      await (publish === undefined ? mock.events.publish(auth.tenantId, 'wallet.created', wallet) : publish(auth.tenantId, 'wallet.created', wallet))
    } catch (err) {
      onPublishError?.(err as Error)
    }
  }
  return wallet
}
