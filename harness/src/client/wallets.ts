// Wallets (contract 3): one page, every wallet by walking the cursor, and create with an idempotency
// key that is the same on every retry of one logical create (contract 6).
import { randomUUID } from 'node:crypto'
import { send, type ClientContext } from './http.ts'
import { ROUTE_WALLET_CREATE, ROUTE_WALLET_LIST, SPAN_WALLETS_CREATE, SPAN_WALLETS_LIST } from './names.ts'

export type Chain = 'ethereum' | 'solana' | 'bitcoin'
export type WalletType = 'mpc' | 'multi-sig' | 'single'

/** Contract 3.1. */
export interface Wallet {
  id: string
  name: string
  type: WalletType
  chain: Chain
  address: string
  createdAt: string
}

export interface ListOptions {
  /** 1-100, server default 20 (contract 3.2). */
  limit?: number
  chain?: Chain
  /** Opaque cursor from a previous page's `cursor`. */
  cursor?: string
  signal?: AbortSignal
}

export interface WalletPage {
  wallets: Wallet[]
  /** Pass to the next list() call; null on the last page. */
  cursor: string | null
  hasMore: boolean
  requestId: string
}

export interface CreateWalletInput {
  name: string
  type: WalletType
  chain: Chain
}

export interface CreateOptions {
  /** Reuse to make a create that spans process restarts idempotent; generated when absent. */
  idempotencyKey?: string
  signal?: AbortSignal
}

export interface CreatedWallet {
  wallet: Wallet
  /** The server answered from its idempotency store: an earlier attempt already created it (6.1). */
  replayed: boolean
  idempotencyKey: string
  requestId: string
}

function listPath (o: ListOptions): string {
  let q = ''
  if (o.limit !== undefined) q += `&limit=${o.limit}`
  if (o.chain !== undefined) q += `&chain=${encodeURIComponent(o.chain)}`
  if (o.cursor !== undefined) q += `&cursor=${encodeURIComponent(o.cursor)}`
  return q.length === 0 ? ROUTE_WALLET_LIST : `${ROUTE_WALLET_LIST}?${q.slice(1)}`
}

export function createWallets (c: ClientContext) {
  async function list (o: ListOptions = {}): Promise<WalletPage> {
    const r = await send<Wallet[]>(c, { name: SPAN_WALLETS_LIST, method: 'GET', route: ROUTE_WALLET_LIST, path: listPath(o), signal: o.signal })
    const meta = r.body.meta
    const cursor = typeof meta.cursor === 'string' ? meta.cursor : null
    return { wallets: r.body.data, cursor, hasMore: meta.hasMore === true && cursor !== null, requestId: r.requestId }
  }

  return {
    list,

    /**
     * Every wallet of the tenant, exactly once: walks the cursor from the first page (contract 3.2
     * guarantees each wallet once, even while wallets are created). A page is yielded only after it
     * arrived whole, so a retried page (429, 5xx, dropped connection) is never yielded twice.
     */
    async * all (o: Omit<ListOptions, 'cursor'> = {}): AsyncGenerator<Wallet, void, undefined> {
      let cursor: string | undefined
      for (;;) {
        const page = await list(cursor === undefined ? o : { ...o, cursor })
        yield * page.wallets
        if (!page.hasMore || page.cursor === null) return
        cursor = page.cursor
      }
    },

    /**
     * Creates a wallet. Every attempt of this one call sends the same X-Idempotency-Key, so a retry
     * after a lost response (7.2) replays the first answer instead of creating a second wallet.
     */
    async create (input: CreateWalletInput, o: CreateOptions = {}): Promise<CreatedWallet> {
      const idempotencyKey = o.idempotencyKey ?? randomUUID()
      const r = await send<Wallet>(c, {
        name: SPAN_WALLETS_CREATE,
        method: 'POST',
        route: ROUTE_WALLET_CREATE,
        path: ROUTE_WALLET_CREATE,
        body: JSON.stringify({ name: input.name, type: input.type, chain: input.chain }),
        idempotencyKey,
        signal: o.signal
      })
      return { wallet: r.body.data, replayed: r.replayed, idempotencyKey, requestId: r.requestId }
    }
  }
}

export type WalletsApi = ReturnType<typeof createWallets>
