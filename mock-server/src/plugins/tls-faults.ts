// The TLS mode's transport faults (fault-plan.ts TLS_FAULTS; seed: "HTTPS only, TLS 1.2+"). When a
// tls-untrusted fault starts, new connections are served a certificate from a CA the client was never
// given, and the connections opened before it are closed so the client must handshake again; a client
// that verifies certificates refuses the handshake, one that keeps talking has turned verification
// off. tls-downgrade offers only TLS 1.0/1.1 the same way: a client must refuse it. Each handshake and
// each refusal during a fault, and the first request on a connection made under one, are recorded
// (type `fault`, 7.3): the harness's tls checks judge from them.
import type { TLSSocket } from 'node:tls'
import type { Server } from 'node:https'
import fp from 'fastify-plugin'
import type { MockContext } from '../context.ts'
import type { FaultPlan } from '../domain/fault-plan.ts'

type Mode = { type: 'tls-untrusted' | 'tls-downgrade', label: string } | undefined
const kMode = Symbol('tenzro.tlsFault')
type TaggedSocket = TLSSocket & { [kMode]?: Mode, [kSeen]?: boolean }
const kSeen = Symbol('tenzro.tlsFaultRequestSeen')

export interface TlsFaultOptions {
  context: () => MockContext
  trusted: { key: string | Buffer, cert: string | Buffer }
  rogue: { key: string | Buffer, cert: string | Buffer }
}

export default fp(async function tlsFaults (app, opts: TlsFaultOptions) {
  const server = app.server as unknown as Server
  const record = (fields: Record<string, unknown>) => { opts.context().record.append('fault', fields) }
  const sockets = new Set<TaggedSocket>()
  let mode: Mode
  let timers: NodeJS.Timeout[] = []

  function apply (next: Mode): void {
    mode = next
    const t = opts.trusted
    if (next === undefined) server.setSecureContext({ key: t.key, cert: t.cert, minVersion: 'TLSv1.2' })
    else if (next.type === 'tls-untrusted') server.setSecureContext({ key: opts.rogue.key, cert: opts.rogue.cert, minVersion: 'TLSv1.2' })
    // SECLEVEL=0: OpenSSL 3 refuses TLS 1.0/1.1 ciphers otherwise; the probe must be able to offer them.
    else server.setSecureContext({ key: t.key, cert: t.cert, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })
    record({ fault: next?.label ?? 'tls', tlsFault: next?.type ?? 'tls-restore', phase: next === undefined ? 'end' : 'start' })
    // Connections made before a fault would let a client skip its handshake: close them (a fault starts
    // on a timer, never inside the control request that set it). At the end, connections made under
    // the fault may stay: what they showed is recorded already.
    if (next !== undefined) for (const s of sockets) if (s[kMode] !== next) s.destroy()
  }

  function schedule (plan: FaultPlan): void {
    for (const t of timers) clearTimeout(t)
    timers = []
    if (mode !== undefined) apply(undefined)
    for (const f of plan.tls) {
      const start = setTimeout(() => { apply({ type: f.type, label: f.label }) }, f.afterMs)
      start.unref()
      timers.push(start)
      if (f.durationMs !== undefined) {
        const end = setTimeout(() => { if (mode?.label === f.label) apply(undefined) }, f.afterMs + f.durationMs)
        end.unref()
        timers.push(end)
      }
    }
  }

  server.on('secureConnection', (socket: TaggedSocket) => {
    socket[kMode] = mode
    sockets.add(socket)
    socket.once('close', () => { sockets.delete(socket) })
    if (mode !== undefined) record({ fault: mode.label, tlsFault: mode.type, phase: 'handshake', protocol: socket.getProtocol(), ip: socket.remoteAddress ?? null })
  })
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    if (mode !== undefined) record({ fault: mode.label, tlsFault: mode.type, phase: 'refused', reason: err.code ?? 'tls_error', ip: socket.remoteAddress ?? null })
  })
  const off = opts.context().onFaults(schedule)
  app.addHook('onClose', async () => { off(); for (const t of timers) clearTimeout(t) })

  app.addRequestStep(function tlsFaultStep (request) {
    const socket = request.raw.socket as TaggedSocket
    const m = socket[kMode]
    if (m === undefined || socket[kSeen] === true || request.state.config.control === true) return undefined
    socket[kSeen] = true
    // Before authentication, so a refused request counts too: its own request entry (same requestId) has the key id.
    record({ fault: m.label, tlsFault: m.type, phase: 'request', protocol: socket.getProtocol(), requestId: request.id, method: request.method, route: request.state.route ?? null })
    return undefined
  })
}, { name: 'mock-tls-faults', dependencies: ['mock-request-context'] })
