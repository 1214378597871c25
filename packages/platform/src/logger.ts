import { pino, type Logger } from 'pino';
import { currentTrace } from './tracing.js';

export type { Logger } from 'pino';

/** The process logger: JSON lines on stdout, tagged with the service name and the current trace id. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const trace = currentTrace();
      return trace ? { trace_id: trace.traceId } : {};
    },
  });
}
