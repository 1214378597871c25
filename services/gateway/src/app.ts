import swaggerUi from '@fastify/swagger-ui';
import type { Redis } from 'ioredis';
import type { PaymentClient } from '@shopflow/payment-client';
import { createHttpServer, httpListener, type HttpServer } from '@shopflow/platform/http';
import type { ServiceApp, ServiceContext } from '@shopflow/platform/service';
import { probePayments } from './adapters/payments.js';
import { createUpstream, type Upstream, type UpstreamName } from './adapters/upstream.js';
import { authenticate, authorize } from './auth/access.js';
import type { Identity } from './auth/identity.js';
import { registerRateLimit } from './auth/rate-limit.js';
import { refuseAmbiguousPaths } from './routes/paths.js';
import { paymentRoutes } from './routes/payments.js';
import { proxyRoutes } from './routes/proxy.js';
import { servicesRoutes, type DiscoveryReader } from './routes/services.js';
import { registerDashboard, type Dashboard } from './dashboard/routes.js';
import type { FeedTiming } from './dashboard/feed.js';
import type { GatewaySettings } from './settings.js';

// Short, because /ready runs its checks one after another.
const PROBE_TIMEOUT_MS = 1000;

/** Base URLs (`http://host:port`) of the HTTP services behind the gateway. */
export type UpstreamUrls = Record<UpstreamName, string>;

/** What the gateway stands on; tests point the upstreams at services of their own and bring their own keys. */
export interface GatewayAdapters {
  upstreams: UpstreamUrls;
  /** Owned by the caller, which closes it after the gateway has stopped. */
  payments: PaymentClient;
  /** Where `payments` connects (host:port), as the dashboard names the instance. */
  paymentAddress?: string;
  /** Verifies bearer tokens. */
  identity: Identity;
  /** Shares the rate limit's counts with the other gateways; owned by the caller. */
  redis?: Redis;
  settings: Omit<GatewaySettings, 'auth'>;
  /** Where GET /services reads the instances from; without it, that route answers 503. */
  discovery?: DiscoveryReader;
  /** How often the dashboard's live stream polls (tests make it quicker). */
  dashboardTiming?: FeedTiming;
}

export interface GatewayApp extends ServiceApp {
  http: HttpServer;
  /** The pools to the services behind it (their stats say how busy each one is). */
  upstreams: readonly Upstream[];
  /** The operators' dashboard at `/`. */
  dashboard: Dashboard;
}

/** Wires the gateway; closing it stops taking requests, lets in-flight ones finish, then closes the upstream pools. */
export async function createGatewayApp(
  { logger, metrics }: Pick<ServiceContext, 'logger' | 'metrics'>,
  { upstreams, payments, paymentAddress, identity, redis, settings, dashboardTiming, discovery }: GatewayAdapters,
): Promise<GatewayApp> {
  const limits = {
    connections: settings.upstreamConnections,
    queue: settings.upstreamQueue,
    timeoutMs: settings.upstreamTimeoutMs,
  };
  const pools = (Object.keys(upstreams) as UpstreamName[]).map((name) => createUpstream(name, upstreams[name], limits));
  const http = await createHttpServer({
    service: 'gateway',
    title: 'Shopflow API',
    logger,
    connections: settings.connections,
    // The gateway faces clients: its metrics are an operator's, behind an admin token like the rest.
    metrics,
    metricsRouteConfig: { access: 'admin' },
    openapi: { components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } } },
    // The gateway is ready once it listens: it answers 503 for an upstream that is away, and
    // operators see which one in these non-critical checks.
    checks: [
      ...pools.map((u) => ({ name: u.name, check: () => u.probe(PROBE_TIMEOUT_MS), critical: false })),
      { name: 'payment', check: () => probePayments(payments, PROBE_TIMEOUT_MS), critical: false },
    ],
  });
  http.decorateRequest('principal', undefined);
  http.decorateRequest('tokenProblem', undefined);
  // In this order: no ambiguous path goes further; the token is verified; the rate limit (a hook
  // of each route registered below) counts the caller; then the route's access decides, before any body is read.
  http.addHook('onRequest', refuseAmbiguousPaths);
  http.addHook('onRequest', authenticate(identity));
  http.addHook('preParsing', authorize);
  await registerRateLimit(http, { perSecond: settings.rateLimit.perSecond, redis, prefix: settings.rateLimit.redisPrefix });

  await http.register(swaggerUi, { routePrefix: '/docs' });
  for (const upstream of pools) await proxyRoutes(http, upstream);
  paymentRoutes(http, payments, settings.upstreamTimeoutMs);
  servicesRoutes(http, discovery);
  const dashboard = await registerDashboard(http, {
    identity,
    upstreams: Object.fromEntries(pools.map((u) => [u.name, u])) as Record<UpstreamName, Upstream>,
    payment: { client: payments, address: paymentAddress ?? 'payment (gRPC)' },
    logger,
    timeoutMs: settings.upstreamTimeoutMs,
    ...(dashboardTiming ? { timing: dashboardTiming } : {}),
    ...(discovery ? { discovery: discovery.registry } : {}),
  });
  // Live streams never end by themselves: they are ended before the server waits for its requests.
  http.addHook('preClose', (done) => {
    dashboard.close();
    done();
  });
  const listener = httpListener(http);
  return {
    http,
    upstreams: pools,
    dashboard,
    serves: {
      listen: (host, port) => listener.listen(host, port),
      async close() {
        dashboard.close();
        await listener.close();
        await Promise.all(pools.map((u) => u.close()));
      },
    },
  };
}
