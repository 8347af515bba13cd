// The embedded OTLP/HTTP trace receiver and the trace assertions that judge a client's spans.
export { createOtlpReceiver } from './receiver.ts'
export type { OtlpReceiver, OtlpReceiverOptions, OtlpReceiverStats, OtlpLogger, WaitForSpansResult, Encoding, Coding } from './receiver.ts'
export type { Span, SpanEvent, SpanLink, SpanKindName, StatusCodeName, AttributeValue, Attributes, InstrumentationScope } from './span.ts'
export {
  indexSpans, selectSpans, groupByTrace, compile, matchValue, describeSelector, spanRef,
  expectCount, expectAttributes, expectChildOf, expectHasChild, expectLinkedTo, expectOrder, expectDuration, expectUnique
} from './assert.ts'
export type {
  SpanIndex, Selector, SpanSelector, ValueMatcher, Quantifier, TraceCheckResult, SpanRef,
  CountOptions, AttributeOptions, RelationOptions, OrderOptions, DurationBounds, UniqueOptions, CommonOptions
} from './assert.ts'
