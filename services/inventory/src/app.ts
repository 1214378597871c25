import { createHttpServer, httpListener, type HttpServer } from '@shopflow/platform/http';
import type { ServiceApp, ServiceContext } from '@shopflow/platform/service';
import { createInventory, type Inventory } from './inventory.js';
import { inventoryRoutes } from './routes/inventory.js';
import { reservationRoutes } from './routes/reservations.js';

export interface InventoryApp extends ServiceApp {
  http: HttpServer;
  inventory: Inventory;
}

/** Wires the inventory service's use cases and routes; `service.ts` runs it. */
export async function createInventoryApp({
  logger,
  db,
  checks,
  metrics,
}: Pick<ServiceContext, 'logger' | 'db' | 'checks' | 'metrics'>): Promise<InventoryApp> {
  const inventory = createInventory({ db });
  const http = await createHttpServer({ service: 'inventory', logger, checks, metrics });
  inventoryRoutes(http, inventory);
  reservationRoutes(http, inventory);
  return { http, serves: httpListener(http), inventory };
}
