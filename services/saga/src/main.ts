import { Stream } from '@shopflow/contracts';
import { envInt } from '@shopflow/platform/config';
import { serviceAddress, serviceUrl } from '@shopflow/platform/discovery';
import { createPaymentClient } from '@shopflow/payment-client';
import { createHttpClient } from '@shopflow/platform/http';
import { runDataService } from '@shopflow/platform/service';
import { createInventoryStock } from './adapters/inventory-stock.js';
import { createPaymentGateway } from './adapters/payment-gateway.js';
import { createSagaApp } from './app.js';
import { migrations } from './db/migrations.js';

runDataService({
  name: 'saga',
  migrations,
  streams: [Stream.Orders, Stream.Saga, Stream.DeadLetter],
  async start({ config, logger, db, messaging }) {
    const callTimeoutMs = envInt('SAGA_CALL_TIMEOUT_MS', 2000, { min: 50 });
    const inventory = createHttpClient(serviceUrl('inventory'), { timeoutMs: callTimeoutMs });
    const payments = createPaymentClient(serviceAddress('payment'), callTimeoutMs);
    const app = await createSagaApp({
      config,
      logger,
      db,
      messaging,
      stock: createInventoryStock(inventory, callTimeoutMs),
      payments: createPaymentGateway(payments, callTimeoutMs),
      policy: {
        stepTimeoutMs: envInt('SAGA_STEP_TIMEOUT_MS', 30_000, { min: 100 }),
        compensationTimeoutMs: envInt('SAGA_COMPENSATION_TIMEOUT_MS', 600_000, { min: 100 }),
        backoff: { baseMs: envInt('SAGA_RETRY_BASE_MS', 100, { min: 1 }), maxMs: envInt('SAGA_RETRY_MAX_MS', 5000, { min: 1 }) },
      },
      concurrency: envInt('SAGA_CONCURRENCY', 256, { min: 1 }),
    });
    await app.start();
    await app.http.listen({ host: config.host, port: config.port });
    return async () => {
      await app.stop();
      await inventory.close();
      payments.close();
    };
  },
});
