// Links from an SSE stream's span to the PRODUCER span of each event it delivers. Producer span
// contexts are kept by `tenant:seq` for the last `maxProducers` events published.
import type { Span, SpanContext } from '@opentelemetry/api'
import * as N from './names.ts'

/** A traced stream: its span and the deliveries whose producer span was not known yet (`tenant:seq`). */
export interface OpenStream {
  span: Span
  unresolved: string[]
}

const MAX_UNRESOLVED = 128

export function createStreamLinks (maxProducers: number) {
  const producers = new Map<string, SpanContext>()

  function addLink (s: OpenStream, sc: SpanContext, key: string): void {
    s.span.addLink({ context: sc, attributes: { [N.ATTR_MESSAGING_MESSAGE_ID]: key.slice(key.lastIndexOf(':') + 1) } })
  }

  return {
    remember (tenantId: string, seq: number, sc: SpanContext): void {
      producers.set(tenantId + ':' + seq, sc)
      if (producers.size > maxProducers) producers.delete(producers.keys().next().value as string)
    },

    /**
     * Link a delivery to its PRODUCER span. The memory log hands a live event to its streams before
     * publish() returns, so a link may resolve only at the stream's next frame or at its close.
     */
    link (s: OpenStream, key: string): void {
      const sc = producers.get(key)
      if (sc !== undefined) { addLink(s, sc, key); return }
      s.unresolved.push(key)
      if (s.unresolved.length > MAX_UNRESOLVED) s.unresolved.shift()
    },

    resolveLinks (s: OpenStream): void {
      if (s.unresolved.length === 0) return
      const pending = s.unresolved
      s.unresolved = []
      for (const key of pending) {
        const sc = producers.get(key)
        if (sc === undefined) s.unresolved.push(key)
        else addLink(s, sc, key)
      }
    }
  }
}
