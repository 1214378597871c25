import { AsyncLocalStorage } from 'node:async_hooks';
import { randomFillSync } from 'node:crypto';

/** A W3C trace context: the trace an operation belongs to and the span that is current. */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

const storage = new AsyncLocalStorage<TraceContext>();
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** Parses a `traceparent` header; returns undefined for anything malformed (a fresh trace is started then). */
export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  const match = value ? TRACEPARENT.exec(value.trim()) : null;
  if (!match) return undefined;
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string];
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}

// Ids come from a pool refilled 4 KiB at a time: a randomBytes call per span was a visible share
// of every service's CPU at a thousand orders a second.
const pool = Buffer.alloc(4096);
let offset = pool.length;

function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}

/** A new span: a child of `parent` when given, otherwise the root of a new trace. */
export function newSpan(parent?: TraceContext): TraceContext {
  return {
    traceId: parent?.traceId ?? randomHex(16),
    spanId: randomHex(8),
    sampled: parent?.sampled ?? true,
  };
}

export function currentTrace(): TraceContext | undefined {
  return storage.getStore();
}

/** Runs `fn` with `ctx` as the current trace context (for logs and outgoing calls). */
export function runWithTrace<T>(ctx: TraceContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** Headers that carry the current trace to a downstream call or message; empty outside a trace. */
export function traceHeaders(): Record<string, string> {
  const ctx = storage.getStore();
  return ctx ? { traceparent: formatTraceparent(newSpan(ctx)) } : {};
}
