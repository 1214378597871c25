import type { PaymentClient } from '@shopflow/payment-client';
import { Health, type Instance, type Registry } from '@shopflow/platform/registry';
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

/** A service and its instances: those discovery knows, or the one the gateway's URL reaches. */
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

/**
 * Asks every service behind the gateway whether it is ready, at once, each within `timeoutMs`.
 * With discovery on, the instances it knows replace the probed one (see withDiscovered); a
 * registry that does not answer in time leaves the probes as they are.
 */
export async function checkHealth(
  upstreams: readonly Upstream[],
  payment: PaymentProbe,
  timeoutMs: number,
  discovery?: Registry,
): Promise<HealthReport> {
  const [report, instances] = await Promise.all([
    probeAll(upstreams, payment, timeoutMs),
    discovery ? listWithin(discovery, timeoutMs) : undefined,
  ]);
  return instances ? withDiscovered(report, instances) : report;
}

async function listWithin(registry: Registry, timeoutMs: number): Promise<Instance[] | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  try {
    return await Promise.race([registry.list().catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Every instance discovery knows, in place of the probed instance of its service (with several,
 * the gateway's URL reaches only one of them). A service discovery does not list keeps its probe.
 */
export function withDiscovered(report: HealthReport, instances: readonly Instance[]): HealthReport {
  const known = new Map<string, InstanceHealth[]>();
  for (const i of instances) {
    const list = known.get(i.service) ?? [];
    list.push({
      address: `${i.address}:${i.port}`,
      status: i.health === Health.Passing ? 'ready' : 'not ready',
      checks: { discovery: i.health, ...(i.lastSeen ? { last_seen: i.lastSeen } : {}) },
      latency_ms: null,
    });
    known.set(i.service, list);
  }
  const services = report.services.map((s) => ({ ...s, instances: known.get(s.name) ?? s.instances }));
  for (const [name, list] of known) if (!services.some((s) => s.name === name)) services.push({ name, instances: list });
  return { ...report, services: inServiceOrder(services) };
}

const SERVICE_ORDER = ['gateway', 'order', 'payment', 'inventory', 'notification', 'saga'];

function inServiceOrder(services: ServiceHealth[]): ServiceHealth[] {
  const rank = (name: string) => (SERVICE_ORDER.includes(name) ? SERVICE_ORDER.indexOf(name) : SERVICE_ORDER.length);
  return services.sort((a, b) => rank(a.name) - rank(b.name));
}

async function probeAll(upstreams: readonly Upstream[], payment: PaymentProbe, timeoutMs: number): Promise<HealthReport> {
  const self: ServiceHealth = {
    name: 'gateway',
    instances: [{ address: 'this gateway', status: 'ready', checks: {}, latency_ms: 0 }],
  };
  const http = upstreams.map(async (u): Promise<ServiceHealth> => ({ name: u.name, instances: [await readyOf(u, timeoutMs)] }));
  const grpc = (async (): Promise<ServiceHealth> => ({ name: 'payment', instances: [await paymentReady(payment, timeoutMs)] }))();
  const services = inServiceOrder([self, ...(await Promise.all([...http, grpc]))]);
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
