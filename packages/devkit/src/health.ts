import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

const HealthClient = grpc.makeGenericClientConstructor(healthService, 'Health');

/** Asks a gRPC server's standard health service whether it is SERVING. */
export function grpcServing(address: string, timeoutMs = 1000): Promise<boolean> {
  const client = new HealthClient(address, grpc.credentials.createInsecure());
  return new Promise<boolean>((resolve) => {
    const check = (client as unknown as Record<string, Function>).check!.bind(client);
    check({ service: '' }, { deadline: Date.now() + timeoutMs }, (error: Error | null, res?: { status: string | number }) => {
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
