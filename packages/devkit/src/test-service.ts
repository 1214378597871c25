import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadServiceConfig, type ServiceConfig } from '@shopflow/platform/config';
import { startTelemetry } from '@shopflow/platform/telemetry';
import { createLogger, type Logger } from '@shopflow/platform/logger';
import { startService, type RunningService, type ServiceApp, type ServiceDefinition } from '@shopflow/platform/service';
import { createDatabase, dropDatabase } from './postgres.js';

export type Dialect = 'sqlite' | 'postgres';

export interface TestServiceOptions {
  /** Where a new database is made (ignored when `databaseUrl` is given or the service has none). */
  dialect?: Dialect;
  /** An existing database to start on; it is kept when the service stops. */
  databaseUrl?: string;
  /** Required when the service publishes or consumes. */
  natsUrl?: string;
  /** Silent by default. */
  logger?: Logger;
  /** Overrides of the service's configuration (the defaults read no environment). */
  config?: Partial<ServiceConfig>;
  /** How far start-up must get before this resolves: listening, started (database) or consuming (NATS too; the default). */
  until?: 'listening' | 'started' | 'consuming';
}

/** A service started by a test; `stop()` also drops the database it made. */
export interface TestService<A extends ServiceApp> extends RunningService<A> {
  databaseUrl: string | undefined;
}

/**
 * Starts a service from its definition as its process would, on a fresh database of `dialect`,
 * on 127.0.0.1 and a free port: the one way integration tests bring a service up.
 */
export async function startTestService<A extends ServiceApp>(
  definition: ServiceDefinition<A>,
  options: TestServiceOptions = {},
): Promise<TestService<A>> {
  // As in a service process: spans, their ids in headers and logs (exported nowhere in a test).
  startTelemetry('shopflow-tests', {});
  const made =
    definition.migrations && !options.databaseUrl
      ? await createTestDatabase(definition.name, options.dialect ?? 'sqlite')
      : undefined;
  const databaseUrl = options.databaseUrl ?? made?.url;
  const defaults = loadServiceConfig(definition.name, {});
  const config: ServiceConfig = {
    ...defaults,
    // A test registers with discovery only when it says so (config.discovery).
    discovery: { ...defaults.discovery, mode: 'off' },
    host: '127.0.0.1',
    port: 0,
    ...(options.natsUrl ? { natsUrl: options.natsUrl } : {}),
    ...(databaseUrl ? { databaseUrl } : {}),
    ...options.config,
  };
  try {
    const running = await startService(definition, config, options.logger ?? createLogger('test', 'silent'));
    try {
      // By default a test sees the service fully up: database migrated, consumers running.
      const until = options.until ?? 'consuming';
      if (until !== 'listening') await running[until];
    } catch (error) {
      await running.stop();
      throw error;
    }
    return {
      ...running,
      databaseUrl,
      async stop() {
        await running.stop();
        await made?.drop();
      },
    };
  } catch (error) {
    await made?.drop();
    throw error;
  }
}

/** A fresh, empty database of `dialect` for a test (a PostgreSQL database, or an SQLite file in a temp dir), and how to drop it. */
export async function createTestDatabase(name: string, dialect: Dialect): Promise<{ url: string; drop(): Promise<void> }> {
  if (dialect === 'postgres') {
    const url = await createDatabase(`shopflow_${name}`);
    return { url, drop: () => dropDatabase(url) };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sf-${name}-`));
  return { url: `sqlite:${path.join(dir, `${name}.db`)}`, drop: () => fs.promises.rm(dir, { recursive: true, force: true }) };
}
