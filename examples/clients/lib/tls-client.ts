// A small HTTPS client for the TLS examples: node:https with a keep-alive agent, listing wallets every
// 200 ms until SIGTERM and backing off on errors, as a service polling the API would. The only knob is
// how it treats the server certificate: `verify` trusts exactly the CA the harness gave
// (TENZRO_CA_FILE) with Node's TLS 1.2 floor; `insecure` is `rejectUnauthorized: false` and a TLS 1.0
// floor, the two settings the tls checks catch.
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:https'
import { log, readEnv, sleep, stopSignal } from './env.ts'

export async function runTlsClient (name: string, mode: 'verify' | 'insecure'): Promise<void> {
  const env = readEnv()
  const caFile = process.env.TENZRO_CA_FILE
  const agent = mode === 'verify'
    ? new Agent({ keepAlive: true, ...(caFile === undefined ? {} : { ca: readFileSync(caFile) }) })
    : new Agent({ keepAlive: true, rejectUnauthorized: false, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' })
  const signal = stopSignal()
  let failures = 0
  while (!signal.aborted) {
    const status = await new Promise<number | string>((resolve) => {
      const req = request(env.baseUrl + '/api/wallet/list?limit=5', { agent, headers: { 'x-api-key': env.apiKey, 'x-tenant-id': env.tenantId } }, (res) => {
        res.resume()
        res.on('end', () => { resolve(res.statusCode ?? 0) })
      })
      req.on('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? 'error') })
      req.end()
    })
    if (typeof status === 'number' && status < 500) failures = 0
    else {
      failures++
      log('warn', 'wallet list failed', { client: name, status })
    }
    await sleep(failures === 0 ? 200 : Math.min(2000, 200 * 2 ** failures) * Math.random(), signal)
  }
  agent.destroy()
}
