import type { PaymentClient } from '@shopflow/payment-client';
import { createHttpServer, httpListener, type HttpServer } from '@shopflow/platform/http';
import type { ServiceApp, ServiceContext } from '@shopflow/platform/service';
import { probePayments } from './adapters/payments.js';
import { createUpstream, type UpstreamName } from './adapters/upstream.js';
import { paymentRoutes } from './routes/payments.js';
import { proxyRoutes } from './routes/proxy.js';

// Short, because /ready runs its checks one after another.
const PROBE_TIMEOUT_MS = 1000;

/** Base URLs (`http://host:port`) of the HTTP services behind the gateway. */
export type UpstreamUrls = Record<UpstreamName, string>;

/** Where the services behind the gateway are; tests point them at services of their own. */
export interface GatewayAdapters {
  upstreams: UpstreamUrls;
  /** Owned by the caller, which closes it after the gateway has stopped. */
  payments: PaymentClient;
  /** How long an upstream may take to answer before the gateway gives up with 504. */
  timeoutMs: number;
}

export interface GatewayApp extends ServiceApp {
  http: HttpServer;
}

/** Wires the gateway; closing it stops taking requests, lets in-flight ones finish, then closes the upstream pools. */
export async function createGatewayApp(
  { logger }: Pick<ServiceContext, 'logger'>,
  { upstreams, payments, timeoutMs }: GatewayAdapters,
): Promise<GatewayApp> {
  const pools = (Object.keys(upstreams) as UpstreamName[]).map((name) => createUpstream(name, upstreams[name]));
  const http = await createHttpServer({
    service: 'gateway',
    title: 'Shopflow API',
    logger,
    // The gateway is ready once it listens: it answers 503 for an upstream that is away, and
    // operators see which one in these non-critical checks.
    checks: [
      ...pools.map((u) => ({ name: u.name, check: () => u.probe(PROBE_TIMEOUT_MS), critical: false })),
      { name: 'payment', check: () => probePayments(payments, PROBE_TIMEOUT_MS), critical: false },
    ],
  });
  for (const upstream of pools) await proxyRoutes(http, upstream, timeoutMs);
  paymentRoutes(http, payments, timeoutMs);
  const listener = httpListener(http);
  return {
    http,
    serves: {
      listen: (host, port) => listener.listen(host, port),
      async close() {
        await listener.close();
        await Promise.all(pools.map((u) => u.close()));
      },
    },
  };
}
