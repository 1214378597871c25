import { Stream } from '@shopflow/contracts';
import { serviceUrl } from '@shopflow/platform/discovery';
import { createHttpClient } from '@shopflow/platform/http';
import { runDataService } from '@shopflow/platform/service';
import { createInventoryCatalog } from './adapters/inventory-catalog.js';
import { createOrderApp } from './app.js';
import { migrations } from './db/migrations.js';

runDataService({
  name: 'order',
  migrations,
  streams: [Stream.Orders, Stream.Saga, Stream.DeadLetter],
  async start({ config, logger, db, messaging }) {
    const inventory = createHttpClient(serviceUrl('inventory'));
    const app = await createOrderApp({ config, logger, db, messaging, catalog: createInventoryCatalog(inventory) });
    await app.start();
    await app.http.listen({ host: config.host, port: config.port });
    return async () => {
      await app.stop();
      await inventory.close();
    };
  },
});
