// What every example client reads: only the variables `tenzro-harness verify` sets.
export interface ClientEnv { baseUrl: string, apiKey: string, tenantId: string, otlpEndpoint: string | undefined }

export function readEnv (env: NodeJS.ProcessEnv = process.env): ClientEnv {
  const missing = ['TENZRO_API_URL', 'TENZRO_API_KEY', 'TENZRO_TENANT_ID'].filter((k) => (env[k] ?? '') === '')
  if (missing.length > 0) {
    process.stderr.write(`example client: set ${missing.join(', ')} (tenzro-harness verify sets them)\n`)
    process.exit(2)
  }
  return { baseUrl: env.TENZRO_API_URL!, apiKey: env.TENZRO_API_KEY!, tenantId: env.TENZRO_TENANT_ID!, otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT }
}

/** JSON lines on stdout, like a real service; never given a key. */
export function log (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields }) + '\n')
}

/** Stops on SIGTERM/SIGINT: the signal aborts, the client returns, the process exits. */
export function stopSignal (): AbortSignal {
  const ac = new AbortController()
  process.once('SIGTERM', () => ac.abort())
  process.once('SIGINT', () => ac.abort())
  return ac.signal
}

export function sleep (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) { resolve(); return }
    const t = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
  })
}
