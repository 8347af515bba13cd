// Custom metrics shared by the scenarios. Declared here, in the init context of every script that
// imports this file; k6 only reports the ones that received samples. Names are snake_case because k6
// (and the Prometheus remote-write output, which prefixes `k6_`) accept nothing else.
import { Counter, Rate } from 'k6/metrics'

/** Share of API responses refused with 429 (contract 5.3); `passes` in the summary is the count. */
export const rateLimitedResponses = new Rate('rate_limited_responses')

/** SSE events delivered (first deliveries and duplicates). */
export const sseEvents = new Counter('sse_events')
/** Connections opened with Last-Event-ID after the previous one ended (contract 4.2). */
export const sseReconnects = new Counter('sse_reconnects')
/** Events lost across reconnects: published but never delivered, or announced by `stream.gap` (4.4). */
export const sseGaps = new Counter('sse_gaps')
/** Events delivered again after a resume (4.6: at-least-once, visible on purpose). */
export const sseDuplicates = new Counter('sse_duplicates')
/** New events older than one already delivered: reordering at the replay/live switch (4.4). */
export const sseOutOfOrder = new Counter('sse_out_of_order')
