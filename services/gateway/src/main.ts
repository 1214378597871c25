import { envInt, loadServiceConfig } from '@shopflow/platform/config';
import { serviceAddress, serviceUrl } from '@shopflow/platform/discovery';
import { createPaymentClient } from '@shopflow/payment-client';
import { runService } from '@shopflow/platform/lifecycle';
import { createLogger } from '@shopflow/platform/logger';
import { createGatewayApp } from './app.js';

const config = loadServiceConfig('gateway');
const logger = createLogger('gateway');

runService(logger, config.shutdownTimeoutMs, async (shutdown) => {
  // Read here so a bad value is logged as a start-up failure.
  const timeoutMs = envInt('GATEWAY_UPSTREAM_TIMEOUT_MS', 10_000, { min: 1 });
  const payments = createPaymentClient(serviceAddress('payment'));
  shutdown.add('payment client', () => payments.close());
  const app = await createGatewayApp({
    logger,
    upstreams: {
      order: serviceUrl('order'),
      inventory: serviceUrl('inventory'),
      notification: serviceUrl('notification'),
      saga: serviceUrl('saga'),
    },
    payments,
    timeoutMs,
  });
  // Registered last, so it closes first: no new requests, then the clients they use.
  shutdown.add('http', () => app.close());
  await app.http.listen({ host: config.host, port: config.port });
  logger.info({ port: config.port, timeoutMs }, 'gateway service ready');
});
