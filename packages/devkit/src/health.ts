import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

const HealthClient = grpc.makeGenericClientConstructor(healthService, 'Health');
type HealthCheck = (
  request: { service: string },
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: { status: string | number }) => void,
) => void;

/** Asks a gRPC server's standard health service whether it is SERVING. */
export function grpcServing(address: string, timeoutMs = 1000): Promise<boolean> {
  const client = new HealthClient(address, grpc.credentials.createInsecure());
  // The generic constructor types no methods; `check` is the health service's unary call.
  const { check } = client as unknown as { check: HealthCheck };
  return new Promise<boolean>((resolve) => {
    check.call(client, { service: '' }, { deadline: Date.now() + timeoutMs }, (error, res) => {
      resolve(!error && (res?.status === 'SERVING' || res?.status === 1));
    });
  }).finally(() => client.close());
}

/** True when an HTTP service answers GET /ready with 200. */
export async function httpReady(baseUrl: string, timeoutMs = 1000): Promise<boolean> {
  const res = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  return res.ok;
}
