import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@shopflow/contracts/api';
import { OtlpReceiver, TestSystem, waitFor, type ReceivedSpan } from '@shopflow/devkit';
import type { ServiceName } from '@shopflow/platform/config';
import { call, settled } from '../support.js';

/** The sum of a metric's samples whose labels include `labels`, in Prometheus' text format. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum = (sum ?? 0) + Number(match[3]);
  }
  return sum;
}

const SERVICES: ServiceName[] = ['gateway', 'order', 'saga', 'inventory', 'payment', 'notification'];

describe('observability: one trace per order, metrics on every service, logs that name the trace and the order', () => {
  let system: TestSystem;
  let receiver: OtlpReceiver;
  let customer: { url: string; headers: Record<string, string> };
  let adminHeaders: Record<string, string>;
  const lines: { service: ServiceName; line: string }[] = [];

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    system = await TestSystem.start({
      databases: 'postgres',
      sink: (service, line) => void lines.push({ service, line }),
      env: {
        PAYMENT_SUCCESS_RATE: '1',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        // Spans leave within a fifth of a second instead of five.
        OTEL_BSP_SCHEDULE_DELAY: '200',
      },
    });
    customer = { url: system.gatewayUrl, headers: await system.authorization('CUST-OBS') };
    adminHeaders = await system.authorization('ops', Role.Admin);
  });
  afterAll(async () => {
    await system?.stop();
    await receiver?.close();
  });

  const placeOrder = () =>
    call(customer, 'POST', '/orders', { customer_id: 'CUST-OBS', product_id: 'PROD001', quantity: 1, amount: 5 });
  const scrape = async (service: ServiceName): Promise<string> => {
    const res = await fetch(`${system.httpUrl(service)}/metrics`, { headers: service === 'gateway' ? adminHeaders : {} });
    expect(res.status, `${service} /metrics`).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };
  const scrapeAll = async () =>
    Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await scrape(s)] as const))) as Record<
      ServiceName,
      string
    >;

  it('gives an order placed through the gateway ONE trace, with spans from all six services and every parent in it', async () => {
    const placed = await placeOrder();
    expect(placed.status).toBe(201);
    const traceId = placed.headers.get('traceparent')?.split('-')[1];
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect((await settled(customer, placed.body.id)).status).toBe('COMPLETED');

    // Each process exports on its own schedule: wait until every span's parent has arrived too.
    // On a timeout the assertions below say what is missing.
    const ofTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
    const complete = (spans: ReceivedSpan[]) => {
      const services = new Set(spans.map((s) => s.service));
      const ids = new Set(spans.map((s) => s.spanId));
      return SERVICES.every((s) => services.has(s)) && spans.every((s) => !s.parentSpanId || ids.has(s.parentSpanId));
    };
    await waitFor('the whole trace', () => complete(ofTrace()), { timeoutMs: 15_000, intervalMs: 100 }).catch(() => undefined);
    const trace = ofTrace();
    expect(new Set(trace.map((s) => s.service))).toEqual(new Set(SERVICES));
    // The order's spans went nowhere else: no service started a trace of its own for this order's work.
    const roots = trace.filter((s) => !s.parentSpanId);
    expect(roots.map((s) => `${s.service} ${s.name}`)).toEqual(['gateway POST /orders']);
    const ids = new Set(trace.map((s) => s.spanId));
    const orphans = trace.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId));
    expect(orphans.map((s) => `${s.service} ${s.name}`)).toEqual([]);

    const names = trace.map((s) => `${s.service} ${s.name}`);
    for (const expected of [
      'order POST /orders',
      'order send orders.created',
      'saga process orders.created',
      'notification process orders.completed',
    ]) {
      expect(names).toContain(expected);
    }
    expect(names.some((n) => n.startsWith('saga saga '))).toBe(true);
    expect(names.some((n) => n.startsWith('payment payment.PaymentService/'))).toBe(true);
    expect(names.some((n) => n.startsWith('inventory POST /reservations'))).toBe(true);
    // The saga's gRPC client span is the parent of the payment service's server span.
    const server = trace.find((s) => s.service === 'payment' && s.kind === 2)!;
    const client = trace.find((s) => s.spanId === server.parentSpanId);
    expect(client).toMatchObject({ service: 'saga', kind: 3 });
  });

  it('moves the right metrics when orders are placed, and keeps the gateway metrics for admins', async () => {
    const before = await scrapeAll();
    const n = 3;
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await placeOrder();
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    for (const id of ids) expect((await settled(customer, id)).status).toBe('COMPLETED');
    // The notifications are consumed after the order completes: wait for the consumer's count.
    const deliveries = (text: string) =>
      sample(text, 'consumer_deliveries_total', { consumer: 'notification-orders-completed' }) ?? 0;
    await waitFor(
      'notifications consumed',
      async () => deliveries(await scrape('notification')) >= deliveries(before.notification) + n,
      {
        timeoutMs: 10_000,
      },
    );
    // A gauge read from JetStream or the database is left out of a scrape that it answers late
    // (a loaded machine): scrape until all those asserted below are in.
    const after = await waitFor(
      'a scrape with the JetStream gauges',
      async () => {
        const all = await scrapeAll();
        const read: [ServiceName, string][] = [
          ['saga', 'consumer_pending'],
          ['notification', 'consumer_ack_pending'],
          ['notification', 'dlq_messages'],
          ...(['order', 'saga', 'payment'] as const).flatMap((s): [ServiceName, string][] => [
            [s, 'outbox_backlog'],
            [s, 'outbox_oldest_age_seconds'],
          ]),
        ];
        return read.every(([service, name]) => sample(all[service], name) !== undefined) ? all : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const moved = (service: ServiceName, name: string, labels: Record<string, string> = {}) =>
      (sample(after[service], name, labels) ?? 0) - (sample(before[service], name, labels) ?? 0);

    const placed = { method: 'POST', route: '/orders', status: '201' };
    expect(moved('gateway', 'http_server_request_duration_seconds_count', placed)).toBe(n);
    expect(moved('order', 'http_server_request_duration_seconds_count', placed)).toBe(n);
    expect(moved('saga', 'saga_outcomes_total', { outcome: 'COMPLETED' })).toBe(n);
    expect(moved('saga', 'saga_step_duration_seconds_count', { result: 'ok' })).toBeGreaterThanOrEqual(3 * n);
    expect(moved('payment', 'grpc_server_handled_seconds_count', { code: 'OK' })).toBeGreaterThanOrEqual(n);
    expect(moved('inventory', 'http_server_request_duration_seconds_count')).toBeGreaterThanOrEqual(n);
    expect(moved('saga', 'consumer_deliveries_total', { consumer: 'saga-orders-created' })).toBe(n);

    // Present on every service that has them: backlog, consumer state, DLQ, pool, event loop.
    for (const s of ['order', 'saga', 'payment'] as const) {
      expect(sample(after[s], 'outbox_backlog'), s).toBeGreaterThanOrEqual(0);
      expect(sample(after[s], 'outbox_oldest_age_seconds'), s).toBeGreaterThanOrEqual(0);
    }
    expect(sample(after.saga, 'consumer_pending', { consumer: 'saga-orders-created' })).toBe(0);
    expect(sample(after.notification, 'consumer_ack_pending')).toBeGreaterThanOrEqual(0);
    expect(sample(after.notification, 'dlq_messages', { consumer: 'notification-orders-completed' })).toBe(0);
    for (const s of ['order', 'saga', 'payment', 'inventory', 'notification'] as const) {
      expect(sample(after[s], 'db_pool_connections', { state: 'idle' }), s).toBeGreaterThanOrEqual(0);
    }
    for (const s of SERVICES)
      expect(sample(after[s], 'nodejs_eventloop_lag_seconds', { service: s }), s).toBeGreaterThanOrEqual(0);

    // The gateway is the edge: its metrics need an admin token.
    expect((await fetch(`${system.gatewayUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${system.gatewayUrl}/metrics`, { headers: customer.headers })).status).toBe(403);
  });

  it("tags every log line that concerns an order with the order's trace and span ids", async () => {
    const placed = await placeOrder();
    const orderId = placed.body.id as string;
    const traceId = placed.headers.get('traceparent')?.split('-')[1];
    await settled(customer, orderId);
    const about = () =>
      lines
        .filter(({ line }) => line.includes(orderId))
        .map(({ service, line }) => ({ service, ...(JSON.parse(line) as Record<string, unknown>) }));
    await waitFor('a log line about the order', () => about().length > 0, { timeoutMs: 10_000 });
    for (const entry of about()) {
      expect(entry, JSON.stringify(entry)).toMatchObject({
        order_id: orderId,
        trace_id: traceId,
        span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
      });
    }
  });
});
