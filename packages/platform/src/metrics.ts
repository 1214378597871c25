import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
import { withTimeout } from './retry.js';

export type { Counter, Gauge, Histogram } from 'prom-client';

/** Buckets for request and step durations, in seconds: a millisecond to ten seconds. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * One service's Prometheus metrics: its own registry (several services share a process in
 * tests), with Node's default metrics (event loop lag among them) and `service` on every series.
 */
export interface ServiceMetrics {
  readonly registry: Registry;
  /** HTTP requests served: rate, errors (by status) and duration. */
  readonly http: Histogram<'method' | 'route' | 'status'>;
  /** gRPC calls served: rate, errors (by code) and duration. */
  readonly grpc: Histogram<'method' | 'code'>;
  counter<L extends string>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  histogram<L extends string>(name: string, help: string, labelNames?: readonly L[], buckets?: number[]): Histogram<L>;
  /**
   * A gauge read at scrape time. `read` returns the value per label set; when it fails or takes
   * over three seconds, the gauge is left empty for that scrape rather than showing a stale value.
   */
  gaugeOf<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => Promise<Iterable<[LabelValues<L>, number]>> | Iterable<[LabelValues<L>, number]>,
  ): Gauge<L>;
  /** The exposition: body and content type for GET /metrics. */
  scrape(): Promise<{ body: string; contentType: string }>;
}

/** Creates the metrics of `service`. */
export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const registers = [registry];
  const metrics: ServiceMetrics = {
    registry,
    http: new Histogram({
      name: 'http_server_request_duration_seconds',
      help: 'HTTP requests served, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    grpc: new Histogram({
      name: 'grpc_server_handled_seconds',
      help: 'gRPC calls served, by method and status code',
      labelNames: ['method', 'code'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    counter: (name, help, labelNames = []) => new Counter({ name, help, labelNames, registers }),
    histogram: (name, help, labelNames = [], buckets = DURATION_BUCKETS) =>
      new Histogram({ name, help, labelNames, buckets, registers }),
    gaugeOf: (name, help, labelNames, read) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          this.reset();
          try {
            for (const [labels, value] of await withTimeout(Promise.resolve(read()), 3000)) this.set(labels, value);
          } catch {
            // A dependency that is away shows as a missing series; /ready says why.
          }
        },
      }),
    scrape: async () => ({ body: await registry.metrics(), contentType: registry.contentType }),
  };
  return metrics;
}
