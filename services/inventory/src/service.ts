import { defineService } from '@shopflow/platform/service';
import { createInventoryApp } from './app.js';
import { migrations } from './db/migrations.js';

/** The inventory service: stock and reservations over HTTP. It publishes and consumes no events, so it needs no NATS. */
export const inventoryService = defineService({
  name: 'inventory',
  migrations,
  build: (ctx) => createInventoryApp(ctx),
});
