import { pino, type Logger } from 'pino';
import { currentOrderId, currentTrace } from './tracing.js';

export type { Logger } from 'pino';

/**
 * The process logger: JSON lines on stdout, tagged with the service name and, inside a span, its
 * trace and span ids and the order the work concerns.
 */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const trace = currentTrace();
      const orderId = currentOrderId();
      return {
        ...(trace && { trace_id: trace.traceId, span_id: trace.spanId }),
        ...(orderId !== undefined && { order_id: orderId }),
      };
    },
  });
}
