import { Redis } from 'ioredis';
import { loadDevKey } from '@shopflow/platform/auth';
import { serviceAddress, serviceUrl } from '@shopflow/platform/discovery';
import { createPaymentClient } from '@shopflow/payment-client';
import { defineService } from '@shopflow/platform/service';
import { createGatewayApp } from './app.js';
import { jwksIdentity, localIdentity, type Identity } from './auth/identity.js';
import { loadGatewaySettings, type AuthSettings } from './settings.js';

/**
 * The API gateway: the single public entry. It owns no data and needs no database; it reaches
 * NATS only for discovery (DISCOVERY=nats), to register and to serve GET /services.
 */
export const gatewayService = defineService({
  name: 'gateway',
  async build(ctx) {
    // Read here, once, so a bad value is logged as a start-up failure.
    const settings = loadGatewaySettings();
    const identity = await identityOf(settings.auth);
    ctx.logger.info({ auth: settings.auth.mode, rate_limit: settings.rateLimit.perSecond }, 'gateway settings');
    const paymentAddress = serviceAddress('payment');
    const payments = createPaymentClient(paymentAddress);
    ctx.defer('payment client', () => payments.close());
    let redis: Redis | undefined;
    if (settings.rateLimit.redisUrl !== undefined && settings.rateLimit.perSecond > 0) {
      const client = new Redis(settings.rateLimit.redisUrl, {
        // A request must not wait on an absent Redis: its command fails at once and the limit lets it pass.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 2000,
      });
      client.on('error', (error: Error) => ctx.logger.warn({ err: error }, 'redis (rate limit counts)'));
      redis = client;
      ctx.defer('redis', () =>
        client.quit().then(
          () => undefined,
          () => client.disconnect(),
        ),
      );
    }
    const upstreams = {
      order: serviceUrl('order'),
      inventory: serviceUrl('inventory'),
      notification: serviceUrl('notification'),
      saga: serviceUrl('saga'),
    };
    // The gateway reads the registry it registers with (NATS or Consul) for GET /services.
    const { mode } = ctx.config.discovery;
    const discovery = ctx.registry && mode !== 'off' ? { mode, registry: ctx.registry } : undefined;
    return createGatewayApp(ctx, { upstreams, payments, paymentAddress, identity, redis, settings, discovery });
  },
});

async function identityOf(auth: AuthSettings): Promise<Identity> {
  if (auth.mode === 'jwks') return jwksIdentity(auth.jwksUrl, auth.issuer, auth.audience);
  // Made at the first start and kept, so tokens printed by `npm run token` stay valid across restarts.
  return localIdentity(await loadDevKey(auth.dataDir));
}
