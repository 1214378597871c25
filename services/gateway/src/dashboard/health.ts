import type { PaymentClient } from '@shopflow/payment-client';
import { probePayments } from '../adapters/payments.js';
import type { Upstream } from '../adapters/upstream.js';

/** One instance of a service as the dashboard last saw it. */
export interface InstanceHealth {
  /** host:port, or "this gateway". */
  address: string;
  status: 'ready' | 'not ready' | 'unreachable';
  /** The instance's own /ready checks (name → "ok" or why not); the probe's failure when unreachable. */
  checks: Record<string, string>;
  /** How long the probe took; null when it got no answer. */
  latency_ms: number | null;
}

/** A service and its instances. One each today: discovery of several is issue #11. */
export interface ServiceHealth {
  name: string;
  instances: InstanceHealth[];
}

/** Every service behind the gateway (and the gateway), and when they were asked. */
export interface HealthReport {
  services: ServiceHealth[];
  checked_at: string;
}

/** Where the payment service is: it answers gRPC, so it is probed with a call. */
export interface PaymentProbe {
  client: PaymentClient;
  address: string;
}

/** Asks every service behind the gateway whether it is ready, at once, each within `timeoutMs`. */
export async function checkHealth(
  upstreams: readonly Upstream[],
  payment: PaymentProbe,
  timeoutMs: number,
): Promise<HealthReport> {
  const self: ServiceHealth = {
    name: 'gateway',
    instances: [{ address: 'this gateway', status: 'ready', checks: {}, latency_ms: 0 }],
  };
  const http = upstreams.map(async (u): Promise<ServiceHealth> => ({ name: u.name, instances: [await readyOf(u, timeoutMs)] }));
  const grpc = (async (): Promise<ServiceHealth> => ({ name: 'payment', instances: [await paymentReady(payment, timeoutMs)] }))();
  const services = [self, ...(await Promise.all([...http, grpc]))];
  const order = ['gateway', 'order', 'payment', 'inventory', 'notification', 'saga'];
  services.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  return { services, checked_at: new Date().toISOString() };
}

async function readyOf(upstream: Upstream, timeoutMs: number): Promise<InstanceHealth> {
  const address = new URL(upstream.url).host;
  const started = performance.now();
  try {
    const res = await upstream.pool.request({ method: 'GET', path: '/ready', signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.body.json().catch(() => ({}))) as { checks?: Record<string, string> };
    return {
      address,
      status: res.statusCode === 200 ? 'ready' : 'not ready',
      checks: body.checks ?? {},
      latency_ms: Math.round(performance.now() - started),
    };
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable';
    return { address, status: 'unreachable', checks: { probe: reason }, latency_ms: null };
  }
}

async function paymentReady({ client, address }: PaymentProbe, timeoutMs: number): Promise<InstanceHealth> {
  const started = performance.now();
  try {
    await probePayments(client, timeoutMs);
    return { address, status: 'ready', checks: { grpc: 'ok' }, latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { address, status: 'unreachable', checks: { grpc: (error as Error).message }, latency_ms: null };
  }
}
