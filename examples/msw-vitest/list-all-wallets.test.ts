// Testing your own code against the Tenzro mock in process: the msw handlers answer at the real API's
// base URL, so listAllWallets runs unchanged, with no server to start and no port to pick.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { setupServer } from 'msw/node'
import { createTenzroHandlers } from 'tenzro-harness/msw'
import { listAllWallets, TenzroApiError } from './list-all-wallets.ts'

const tenzro = createTenzroHandlers({ config: { walletsPerTenant: 150 } })
const server = setupServer(...tenzro.handlers)

beforeAll(() => { server.listen({ onUnhandledFrame: 'error' }) })
afterEach(() => { tenzro.reset() })
afterAll(async () => {
  server.close()
  await tenzro.close()
})

describe('listAllWallets', () => {
  it('follows the cursor to the last page and returns every wallet once', async () => {
    const { key, tenantId } = tenzro.createKey('acme')
    const wallets = await listAllWallets({ apiKey: key, tenantId })
    expect(wallets).toHaveLength(150)
    expect(new Set(wallets.map((w) => w.id)).size).toBe(150)
  })

  it('waits Retry-After and tries again when it is rate limited', async () => {
    const { key, tenantId } = tenzro.createKey('acme')
    tenzro.setFaults({ faults: [{ type: 'rate-limit-burst', retryAfterS: 3, times: 1 }] })
    const waits: number[] = []
    const wallets = await listAllWallets({ apiKey: key, tenantId, sleep: async (ms) => { waits.push(ms) } })
    expect(waits).toEqual([3000])
    expect(wallets).toHaveLength(150)
  })

  it('surfaces the API\'s error code when the key is revoked', async () => {
    const { id, key, tenantId } = tenzro.createKey('acme')
    tenzro.revokeKey(id)
    const err = await listAllWallets({ apiKey: key, tenantId }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TenzroApiError)
    expect(err).toMatchObject({ status: 401, code: 'revoked_api_key' })
  })
})
