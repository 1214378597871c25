import type { Db } from '@shopflow/platform/db';
import { createHttpServer, type HttpServer } from '@shopflow/platform/http';
import type { Logger } from '@shopflow/platform/logger';
import { createInventory } from './inventory.js';
import { inventoryRoutes } from './routes/inventory.js';
import { reservationRoutes } from './routes/reservations.js';

export interface InventoryAppDeps {
  logger: Logger;
  /** Already migrated with `migrations` from `db/migrations.ts`. */
  db: Db;
}

/** The wired service; the caller listens and closes. */
export interface InventoryApp {
  http: HttpServer;
}

/** Wires the inventory service; exported for tests, which pass a real database. */
export async function createInventoryApp({ logger, db }: InventoryAppDeps): Promise<InventoryApp> {
  const inventory = createInventory({ db });
  const http = await createHttpServer({
    service: 'inventory',
    logger,
    checks: [{ name: 'database', check: () => db.ping() }],
  });
  inventoryRoutes(http, inventory);
  reservationRoutes(http, inventory);
  return { http };
}
/** The schema a fresh database needs before createInventoryApp (tests and tools that host the app). */
export { migrations } from './db/migrations.js';
