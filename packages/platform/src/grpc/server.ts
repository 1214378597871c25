import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { AppError, grpcStatusOf } from '../errors.js';
import type { Listener } from '../lifecycle.js';
import type { ServiceMetrics } from '../metrics.js';
import { SpanKind, contextFrom, inSpan } from '../tracing.js';

export interface GrpcServerOptions {
  /** Services the standard health service reports besides the server-wide ''; all are NOT_SERVING until listen(). */
  healthNames?: readonly string[];
  /** How long close() lets in-flight calls finish before cutting connections. */
  drainTimeoutMs: number;
  /** Every call is counted into `metrics.grpc`: method, status code, duration. */
  metrics?: ServiceMetrics;
}

/** A grpc-js server with the grpc.health.v1 health service: a service's listener that binds, then drains on close. */
export interface GrpcServer extends Listener {
  /** Add the service's own handlers here before listen(). */
  server: grpc.Server;
  /** Binds host:port (port 0 picks one) without TLS, then reports SERVING; resolves to the bound `host:port`. */
  listen(host: string, port: number): Promise<string>;
  /** Reports NOT_SERVING, then drains (see GrpcServerOptions.drainTimeoutMs); later calls return the same promise. */
  close(): Promise<void>;
}

/** Creates a server that already carries the health service; see GrpcServer. */
export function createGrpcServer({ healthNames = [], drainTimeoutMs, metrics }: GrpcServerOptions): GrpcServer {
  const server = new grpc.Server(metrics ? { interceptors: [measured(metrics)] } : {});
  const names = ['', ...healthNames];
  const health = new HealthImplementation(Object.fromEntries(names.map((name) => [name, 'NOT_SERVING'])));
  health.addToServer(server);
  const setHealth = (status: 'SERVING' | 'NOT_SERVING') => {
    for (const name of names) health.setStatus(name, status);
  };
  let stopping: Promise<void> | undefined;

  return {
    server,
    async listen(host, port) {
      const bound = await new Promise<number>((resolve, reject) =>
        server.bindAsync(listenAddress(host, port), grpc.ServerCredentials.createInsecure(), (error, p) =>
          error ? reject(error) : resolve(p),
        ),
      );
      setHealth('SERVING');
      return listenAddress(host, bound);
    },
    close() {
      stopping ??= (() => {
        // Watchers and balancers hear NOT_SERVING before the listener goes away.
        setHealth('NOT_SERVING');
        return drain(server, drainTimeoutMs);
      })();
      return stopping;
    },
  };
}

/** A server interceptor that times each call from its start to the status it ends with. */
function measured(metrics: ServiceMetrics): grpc.ServerInterceptor {
  return (descriptor, call) => {
    const started = process.hrtime.bigint();
    return new grpc.ServerInterceptingCall(call, {
      sendStatus(status, next) {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.grpc.observe({ method: descriptor.path, code: grpc.status[status.code] ?? String(status.code) }, seconds);
        next(status);
      },
    });
  };
}

/** Lets in-flight calls finish; a client that keeps a stream open (a health Watch) is cut off at the deadline. */
function drain(server: grpc.Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** `host:port` as grpc-js binds it: an IPv6 literal such as `::1` gets its brackets. */
export function listenAddress(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/**
 * Adapts an async function to a grpc-js unary handler: runs it in a server span under the caller's and
 * maps AppErrors to their gRPC status; anything else is INTERNAL without internals in the message.
 * `fn` also gets the call's metadata (see `metadataHeaders`).
 */
export function unaryHandler<Req, Res>(
  fn: (request: Req, metadata: grpc.Metadata) => Promise<Res>,
  onUnexpected: (error: unknown) => void,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    // The caller gave up before this call was read (its deadline passed while we were stalled): do nothing.
    if (call.cancelled) return;
    const path = call.getPath();
    const [service, method] = path.slice(1).split('/') as [string, string | undefined];
    const parent = contextFrom({
      traceparent: call.metadata.get('traceparent').map(String),
      tracestate: call.metadata.get('tracestate').map(String),
    });
    const attributes = { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method ?? path };
    void inSpan(path.slice(1), { kind: SpanKind.SERVER, attributes, parent }, () =>
      fn(call.request, call.metadata).then(
        (response) => callback(null, response),
        (error: unknown) => {
          if (error instanceof AppError) {
            return callback({ code: grpcStatusOf[error.code], details: error.message });
          }
          onUnexpected(error);
          callback({ code: grpc.status.INTERNAL, details: 'internal error' });
        },
      ),
    );
  };
}

/** A call's text metadata as the header record that `principalOf` and friends read (binary entries left out). */
export function metadataHeaders(metadata: grpc.Metadata): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata.getMap())) if (typeof v === 'string') headers[k] = v;
  return headers;
}
