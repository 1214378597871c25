import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

const HealthClient = grpc.makeGenericClientConstructor(healthService, 'Health');
type HealthCheck = (
  request: { service: string },
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: { status: string | number }) => void,
) => void;

/** A gRPC server's answer to the standard health check, or undefined when it gave none within the deadline. */
function grpcHealthStatus(address: string, timeoutMs: number): Promise<string | number | undefined> {
  const client = new HealthClient(address, grpc.credentials.createInsecure());
  // The generic constructor types no methods; `check` is the health service's unary call.
  const { check } = client as unknown as { check: HealthCheck };
  return new Promise<string | number | undefined>((resolve) => {
    check.call(client, { service: '' }, { deadline: Date.now() + timeoutMs }, (error, res) => {
      resolve(error ? undefined : res?.status);
    });
  }).finally(() => client.close());
}

/** Asks a gRPC server's standard health service whether it is SERVING. */
export async function grpcServing(address: string, timeoutMs = 1000): Promise<boolean> {
  const status = await grpcHealthStatus(address, timeoutMs);
  return status === 'SERVING' || status === 1;
}

/** True when an HTTP service answers GET /ready with 200. */
export async function httpReady(baseUrl: string, timeoutMs = 1000): Promise<boolean> {
  const res = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  return res.ok;
}

/**
 * True when the service on 127.0.0.1:`port` answers its liveness check within the deadline: GET
 * /health, or the gRPC health check for payment. Any answer counts, since it proves the event loop
 * turns; whether the service can do its work is /ready's question.
 */
export async function serviceAnswers(name: string, port: number, timeoutMs: number): Promise<boolean> {
  if (name === 'payment') return (await grpcHealthStatus(`127.0.0.1:${port}`, timeoutMs)) !== undefined;
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}
