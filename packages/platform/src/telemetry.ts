import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';

type Env = Record<string, string | undefined>;

/** What runs when nothing is exported: the SDK registers a provider only when it has a processor. */
const noExport: tracing.SpanProcessor = {
  onStart: () => undefined,
  onEnd: () => undefined,
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

let stopSdk: (() => Promise<void>) | undefined;

/**
 * Starts OpenTelemetry for this process; call it before anything else is imported (a service's
 * main.ts does). The standard `OTEL_*` variables apply. Spans are exported over OTLP when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`, or `OTEL_TRACES_EXPORTER`) is set;
 * otherwise no span records anything, but every one still gets its ids, for logs and for the
 * headers that carry the trace on (a sampler that records nothing costs a fraction of a span).
 * Idempotent: the SDK is process-wide, so a second call (another service in a test) keeps the first.
 */
export function startTelemetry(service: string, env: Env = process.env): void {
  if (stopSdk) return;
  const exporting = Boolean(
    env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_TRACES_EXPORTER,
  );
  const sdk = new NodeSDK({
    // OTEL_SERVICE_NAME, when set, names the service instead.
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: service }),
    // Without spanProcessors the SDK builds its OTLP exporter from the OTEL_* variables.
    ...(exporting ? {} : { spanProcessors: [noExport], sampler: new tracing.AlwaysOffSampler() }),
    // Metrics are Prometheus' (/metrics, prom-client) and logs are pino's: the SDK exports traces only.
    metricReaders: [],
    logRecordProcessors: [],
    // Fastify is instrumented per server (@fastify/otel, see http/server.ts) and gRPC in the
    // platform's client and server (grpc/), which are the only ways in and out; undici's
    // instrumentation listens on its diagnostics channels, so it needs no module hooks under ESM.
    instrumentations: [new UndiciInstrumentation({ requireParentforSpans: true })],
  });
  sdk.start();
  stopSdk = () => sdk.shutdown();
}

/** Flushes the spans still buffered and stops the SDK (a clean shutdown calls it last). */
export async function stopTelemetry(): Promise<void> {
  const stop = stopSdk;
  stopSdk = undefined;
  await stop?.();
}
