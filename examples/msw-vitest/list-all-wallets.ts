// "Your own code": a function an integration might have, that walks every page of the wallet list
// (contract 3.2) and retries once on 429 after Retry-After (5.3). It knows nothing about the mock.

export interface Wallet {
  id: string
  name: string
  type: string
  chain: string
  address: string
  createdAt: string
}

export interface ListAllWalletsOptions {
  apiKey: string
  tenantId: string
  baseUrl?: string
  fetch?: typeof fetch
  sleep?: (ms: number) => Promise<void>
}

export class TenzroApiError extends Error {
  readonly status: number
  readonly code: string
  constructor (status: number, code: string, message: string) {
    super(message)
    this.name = 'TenzroApiError'
    this.status = status
    this.code = code
  }
}

export async function listAllWallets (opts: ListAllWalletsOptions): Promise<Wallet[]> {
  const baseUrl = opts.baseUrl ?? 'https://api.platform.tenzro.com'
  const doFetch = opts.fetch ?? fetch
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => { setTimeout(resolve, ms) }))
  const wallets: Wallet[] = []
  let cursor: string | null = null
  do {
    const url = `${baseUrl}/api/wallet/list?limit=100${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`
    const headers = { 'X-API-Key': opts.apiKey, 'X-Tenant-Id': opts.tenantId }
    let res = await doFetch(url, { headers })
    if (res.status === 429) {
      await sleep(Number(res.headers.get('retry-after') ?? '1') * 1000)
      res = await doFetch(url, { headers })
    }
    const body = await res.json() as { data: Wallet[], meta: { cursor: string | null }, error?: { code: string, message: string } }
    if (!res.ok) throw new TenzroApiError(res.status, body.error?.code ?? 'unknown', body.error?.message ?? res.statusText)
    wallets.push(...body.data)
    cursor = body.meta.cursor
  } while (cursor !== null)
  return wallets
}
