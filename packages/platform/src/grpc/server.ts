import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { AppError, grpcStatusOf } from '../errors.js';
import type { Listener } from '../lifecycle.js';
import { newSpan, parseTraceparent, runWithTrace } from '../tracing.js';

export interface GrpcServerOptions {
  /** Services the standard health service reports besides the server-wide ''; all are NOT_SERVING until listen(). */
  healthNames?: readonly string[];
  /** How long close() lets in-flight calls finish before cutting connections. */
  drainTimeoutMs: number;
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
export function createGrpcServer({ healthNames = [], drainTimeoutMs }: GrpcServerOptions): GrpcServer {
  const server = new grpc.Server();
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
 * Adapts an async function to a grpc-js unary handler: runs it in the caller's trace context and
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
    const parent = parseTraceparent(call.metadata.get('traceparent')[0]?.toString());
    const span = newSpan(parent);
    runWithTrace(span, () => {
      fn(call.request, call.metadata).then(
        (response) => callback(null, response),
        (error: unknown) => {
          if (error instanceof AppError) {
            return callback({ code: grpcStatusOf[error.code], details: error.message });
          }
          onUnexpected(error);
          callback({ code: grpc.status.INTERNAL, details: 'internal error' });
        },
      );
    });
  };
}

/** A call's text metadata as the header record that `principalOf` and friends read (binary entries left out). */
export function metadataHeaders(metadata: grpc.Metadata): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata.getMap())) if (typeof v === 'string') headers[k] = v;
  return headers;
}
