import { envInt } from '@shopflow/platform/config';
import { serviceAddress, serviceUrl } from '@shopflow/platform/discovery';
import { createPaymentClient } from '@shopflow/payment-client';
import { defineService } from '@shopflow/platform/service';
import { createGatewayApp } from './app.js';

/** The API gateway: the single public entry. It owns no data and needs neither a database nor NATS. */
export const gatewayService = defineService({
  name: 'gateway',
  async build(ctx) {
    // Read here so a bad value is logged as a start-up failure.
    const timeoutMs = envInt('GATEWAY_UPSTREAM_TIMEOUT_MS', 10_000, { min: 1 });
    const payments = createPaymentClient(serviceAddress('payment'));
    ctx.defer('payment client', () => payments.close());
    const upstreams = {
      order: serviceUrl('order'),
      inventory: serviceUrl('inventory'),
      notification: serviceUrl('notification'),
      saga: serviceUrl('saga'),
    };
    return createGatewayApp(ctx, { upstreams, payments, timeoutMs });
  },
});
