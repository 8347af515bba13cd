// Test certificates for the TLS mode, made with the `openssl` binary (present wherever Node's own
// OpenSSL is packaged; Debian's `openssl`): a CA of this run, a server certificate it signs for
// localhost/127.0.0.1/::1, and a second, unrelated CA with its own server certificate for the
// tls-untrusted fault. P-256 keys, two days of validity: they are made fresh for every run and never
// meant to outlive it. Only the entry points (server.ts, the harness session) call this: it writes files.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface TlsMaterial {
  dir: string
  /** The CA a client must trust (TENZRO_CA_FILE, NODE_EXTRA_CA_CERTS). */
  caFile: string
  ca: string
  key: string
  cert: string
  /** A certificate for the same names from a CA no client trusts (fault tls-untrusted). */
  rogue: { key: string, cert: string }
}

export class TlsSetupError extends Error {
  readonly code = 'tls_setup_failed'
}

function openssl (args: string[], cwd: string): void {
  try {
    execFileSync(process.env.OPENSSL_BIN ?? 'openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer }
    if (e.code === 'ENOENT') throw new TlsSetupError('the TLS mode needs the openssl binary (apt-get install openssl, or set OPENSSL_BIN)')
    throw new TlsSetupError(`openssl ${args[0]} failed: ${String(e.stderr ?? e.message).trim().split('\n')[0]}`)
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

function authority (dir: string, name: string, cn: string, hosts: readonly string[]): { ca: string, key: string, cert: string } {
  openssl(['req', '-x509', ...EC, '-keyout', `${name}-ca.key`, '-out', `${name}-ca.pem`, '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir)
  openssl(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=localhost'], dir)
  const san = hosts.map((h) => (/^[\d.]+$/.test(h) || h.includes(':') ? `IP:${h}` : `DNS:${h}`)).join(',')
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`)
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${name}-ca.pem`, '-CAkey', `${name}-ca.key`, '-CAcreateserial',
    '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir)
  const read = (f: string) => readFileSync(join(dir, f), 'utf8')
  return { ca: read(`${name}-ca.pem`), key: read(`${name}.key`), cert: read(`${name}.pem`) }
}

/** Make the CA, the server certificate and the rogue pair in `dir` (created if needed). Throws TlsSetupError. */
export function generateTlsMaterial (dir: string, extraHosts: readonly string[] = []): TlsMaterial {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const hosts = [...new Set(['localhost', '127.0.0.1', '::1', ...extraHosts])]
  const main = authority(dir, 'server', 'tenzro-mock test CA', hosts)
  const rogue = authority(dir, 'rogue', 'untrusted CA (tenzro-mock tls-untrusted fault)', hosts)
  return { dir, caFile: join(dir, 'server-ca.pem'), ca: main.ca, key: main.key, cert: main.cert, rogue: { key: rogue.key, cert: rogue.cert } }
}
