import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SERVICE_NAMES, ServiceDefaults, type ServiceName } from '@shopflow/platform/config';
import { NatsServer } from './nats-server.js';
import { createDatabase, dropDatabase, PG_ADMIN_URL } from './postgres.js';
import { PostgresCluster, type PostgresClusterOptions } from './postgres-cluster.js';
import { ServiceProcess, type LineSink } from './supervisor.js';
import { TcpProxy } from './tcp-proxy.js';
import { freePort } from './wait.js';

/** Services that own a database. */
export const DATA_SERVICES = ['order', 'payment', 'inventory', 'notification', 'saga'] as const satisfies readonly ServiceName[];
export type DataService = (typeof DATA_SERVICES)[number];

export interface SystemOptions {
  /** `sqlite` (the embedded default, files under a temp dir) or `postgres` (a fresh database per service). */
  databases?: 'sqlite' | 'postgres';
  /** Extra environment for every service (e.g. PAYMENT_SUCCESS_RATE). */
  env?: Record<string, string>;
  /** Where service output goes; silent unless SHOPFLOW_TEST_LOGS is set. */
  sink?: LineSink;
  /** An existing NATS to use; otherwise the system starts its own on a free port. */
  natsUrl?: string;
  /**
   * With `postgres`: a PostgreSQL cluster of the system's own (`system.postgres`, which faults may
   * kill) instead of PG_ADMIN_URL's, each service reaching it through a proxy of its own
   * (`system.databaseProxies`, which faults may cut off); it goes with the system.
   */
  ownPostgres?: boolean | PostgresClusterOptions;
}

/**
 * The whole Shopflow system on free ports, owned by a test or the chaos harness: its own
 * nats-server with a temporary store, its own databases, every service as its own process.
 */
export class TestSystem {
  private constructor(
    readonly services: Record<ServiceName, ServiceProcess>,
    readonly nats: NatsServer | undefined,
    readonly natsUrl: string,
    readonly databaseUrls: Record<DataService, string>,
    readonly dataDir: string,
    readonly postgres: PostgresCluster | undefined,
    readonly databaseProxies: Partial<Record<DataService, TcpProxy>>,
  ) {}

  static async start(options: SystemOptions = {}): Promise<TestSystem> {
    const sink: LineSink =
      options.sink ??
      (process.env.SHOPFLOW_TEST_LOGS ? (name, line) => process.stderr.write(`[${name}] ${line}\n`) : () => undefined);
    const nats = options.natsUrl ? undefined : await NatsServer.start();
    const natsUrl = options.natsUrl ?? nats!.url;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-data-'));
    let postgres: PostgresCluster | undefined;
    const databaseUrls = {} as Record<DataService, string>;
    const databaseProxies: Partial<Record<DataService, TcpProxy>> = {};
    try {
      if (options.databases === 'postgres' && options.ownPostgres)
        postgres = await PostgresCluster.start(options.ownPostgres === true ? {} : options.ownPostgres);
      for (const s of DATA_SERVICES) {
        if (options.databases !== 'postgres') {
          databaseUrls[s] = `sqlite:${path.join(dataDir, `${s}.db`)}`;
          continue;
        }
        const url = new URL(await createDatabase(`shopflow_${s}`, postgres?.adminUrl ?? PG_ADMIN_URL));
        if (postgres) {
          const proxy = (databaseProxies[s] = await TcpProxy.start(postgres.port));
          url.port = String(proxy.port);
        }
        databaseUrls[s] = url.toString();
      }
    } catch (error) {
      await nats?.stop({ removeStore: true });
      await Promise.all(Object.values(databaseProxies).map((p) => p.stop()));
      await postgres?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      throw error;
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NATS_URL: natsUrl,
      DATA_DIR: dataDir,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      ...options.env,
    };
    const ports = {} as Record<ServiceName, number>;
    for (const s of SERVICE_NAMES) {
      ports[s] = await freePort();
      env[ServiceDefaults[s].portEnv] = String(ports[s]);
    }
    for (const s of DATA_SERVICES) env[`${s.toUpperCase()}_DATABASE_URL`] = databaseUrls[s];
    const services = {} as Record<ServiceName, ServiceProcess>;
    for (const s of SERVICE_NAMES) services[s] = new ServiceProcess({ name: s, port: ports[s], env, sink });
    const system = new TestSystem(services, nats, natsUrl, databaseUrls, dataDir, postgres, databaseProxies);
    try {
      for (const s of SERVICE_NAMES) services[s].start();
      await Promise.all(SERVICE_NAMES.map((s) => services[s].waitReady()));
    } catch (error) {
      await system.stop();
      throw error;
    }
    return system;
  }

  url(service: ServiceName): string {
    return `http://127.0.0.1:${this.services[service].port}`;
  }

  get gatewayUrl(): string {
    return this.url('gateway');
  }

  /** Stops everything; `keepData` leaves the databases and the NATS store for a post-mortem. */
  async stop({ keepData = false } = {}): Promise<void> {
    await Promise.all(Object.values(this.services).map((s) => s.stop()));
    await this.nats?.stop({ removeStore: !keepData });
    // An own cluster goes whole (or stays whole, stopped, for the post-mortem).
    await Promise.all(Object.values(this.databaseProxies).map((p) => p.stop()));
    await this.postgres?.stop({ removeData: !keepData });
    if (keepData) return;
    for (const url of Object.values(this.databaseUrls)) {
      if (url.startsWith('postgres') && !this.postgres) await dropDatabase(url).catch(() => undefined);
    }
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
