// Traces for the example clients: NodeSDK configured by the standard OTEL_* variables (the harness
// sets OTEL_EXPORTER_OTLP_ENDPOINT to its embedded receiver). No instrumentation: the reference
// client makes its own spans through @opentelemetry/api.
export async function startTracing (serviceName: string): Promise<() => Promise<void>> {
  if ((process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '') === '') return async () => {}
  const { NodeSDK } = await import('@opentelemetry/sdk-node')
  const sdk = new NodeSDK({ serviceName, instrumentations: [], metricReaders: [], logRecordProcessors: [] })
  sdk.start()
  return () => sdk.shutdown()
}
