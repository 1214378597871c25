import * as grpc from '@grpc/grpc-js';
import { AppError, errorCodeOfGrpc } from '../errors.js';
import { SpanKind, inSpan, traceHeaders } from '../tracing.js';

/** Options for a long-lived client channel: kept alive while idle, quick to come back after the server restarts. */
export const clientChannelOptions: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_permit_without_calls': 1,
  // A restarted server is reachable again within moments; the default backoff would wait up to two minutes.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
};

/** A unary method of a grpc-js generated client, bound to its client. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/** The AppError a failed call becomes: code from the gRPC status, message `<label>: <details>`, the ServiceError as cause. */
export function appErrorOfGrpc(error: grpc.ServiceError, label: string): AppError {
  return new AppError(errorCodeOfGrpc(error.code), `${label}: ${error.details || error.message}`, { cause: error });
}

/**
 * Wraps a unary method as a promise, in a client span named `label` (`<service> <Method>`). Each call
 * carries the trace context and `headers` as metadata and a deadline (`timeoutMs`, else
 * `defaultTimeoutMs`), and fails with `appErrorOfGrpc(error, label)`.
 */
export function unaryCall<Req, Res>(
  method: UnaryMethod<Req, Res>,
  label: string,
  defaultTimeoutMs: number,
): (request: Req, timeoutMs?: number, headers?: Record<string, string>) => Promise<Res> {
  const [service, name] = label.split(' ') as [string, string | undefined];
  const attributes = { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': name ?? label };
  return (request, timeoutMs = defaultTimeoutMs, headers) =>
    inSpan(
      label,
      { kind: SpanKind.CLIENT, attributes },
      (span) =>
        new Promise<Res>((resolve, reject) => {
          const metadata = new grpc.Metadata();
          for (const [k, v] of Object.entries(traceHeaders())) metadata.set(k, v);
          if (headers) for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
          method(request, metadata, { deadline: Date.now() + timeoutMs }, (error, response) => {
            span.setAttribute('rpc.grpc.status_code', error ? error.code : grpc.status.OK);
            if (error) reject(appErrorOfGrpc(error, label));
            else resolve(response);
          });
        }),
    );
}
