import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  createContextKey,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';

export { SpanKind, type Context, type Span } from '@opentelemetry/api';

/**
 * Spans go through the OpenTelemetry API: `startTelemetry` (telemetry.ts) installs the SDK in a
 * service process. Without it every call here is a cheap no-op and nothing propagates.
 */
const tracer = () => trace.getTracer('@shopflow/platform');

/** A W3C trace context: the trace an operation belongs to and the span that is current. */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** Parses a `traceparent` header; undefined for anything malformed. */
export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  const match = value ? TRACEPARENT.exec(value.trim()) : null;
  if (!match) return undefined;
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string];
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** The trace and span current in this async context, if a recording or propagated span is. */
export function currentTrace(): TraceContext | undefined {
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const c = span.spanContext();
  if (!trace.isSpanContextValid(c)) return undefined;
  return { traceId: c.traceId, spanId: c.spanId, sampled: (c.traceFlags & TraceFlags.SAMPLED) !== 0 };
}

/** Headers (`traceparent`, `tracestate`) that carry `ctx` (default: the current context) to a call or a message. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** Headers kept by a client library: NATS message headers, say. */
interface HeaderMap {
  get(key: string): string;
  keys(): string[];
}

/** Something that carries trace headers: a plain record or a header map. */
export type Carrier = Record<string, string | string[] | undefined> | HeaderMap;

const isHeaderMap = (c: Carrier): c is HeaderMap => typeof c.get === 'function' && typeof c.keys === 'function';

const carrierGetter: TextMapGetter<Carrier> = {
  get(carrier, key) {
    const value = isHeaderMap(carrier) ? carrier.get(key) : carrier[key];
    if (Array.isArray(value)) return value.length > 0 ? value : undefined;
    return value === undefined || value === '' ? undefined : value;
  },
  keys: (carrier) => (isHeaderMap(carrier) ? carrier.keys() : Object.keys(carrier)),
};

/** The remote context carried by `carrier` (a fresh root when it carries none). */
export function contextFrom(carrier: Carrier | undefined): Context {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier, carrierGetter) : ROOT_CONTEXT;
}

export interface SpanSpec {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent: a context from `contextFrom`; the current context by default. */
  parent?: Context;
}

/**
 * Runs `fn` in a new span, current for everything it calls; a throw marks the span failed and
 * records the exception. The span ends when `fn` settles.
 */
export function inSpan<T>(name: string, spec: SpanSpec, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(
    name,
    { kind: spec.kind ?? SpanKind.INTERNAL, attributes: spec.attributes },
    spec.parent ?? context.active(),
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        failSpan(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** Marks `span` failed with `error`. */
export function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

const ORDER_ID = createContextKey('shopflow order id');

/** Runs `fn` with `orderId` as the order every log line in it concerns. */
export function withOrder<T>(orderId: string, fn: () => T): T {
  return context.with(context.active().setValue(ORDER_ID, orderId), fn);
}

/** The order the current work concerns, as set by `withOrder`. */
export function currentOrderId(): string | undefined {
  return context.active().getValue(ORDER_ID) as string | undefined;
}

/** `fn`, to be run later (after a commit, say) in the context current now: its span, its order. */
export function inCurrentContext<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T {
  return context.bind(context.active(), fn);
}
