import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Role } from '@shopflow/contracts/api';
import { loadDevKey, mintToken, type DevKey } from '@shopflow/platform/auth';
import { SERVICE_NAMES, ServiceDefaults, loadNatsAuth, type NatsAuth, type ServiceName } from '@shopflow/platform/config';
import { createNatsUsers, natsServiceEnv } from './nats-auth.js';
import { NatsServer } from './nats-server.js';
import { createDatabase, dropDatabase, PG_ADMIN_URL } from './postgres.js';
import { PostgresCluster, type PostgresClusterOptions } from './postgres-cluster.js';
import { ServiceProcess, type LineSink } from './supervisor.js';
import { TcpSwitch } from './tcp-switch.js';
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
  /** An existing NATS to use (credentials from NATS_CREDS or NATS_USER/NATS_PASSWORD); otherwise the system starts its own on a free port, with a user per service. */
  natsUrl?: string;
  /**
   * With `postgres`: a PostgreSQL cluster of the system's own (`system.postgres`, which faults may
   * kill) instead of PG_ADMIN_URL's, each service reaching it through a TcpSwitch of its own
   * (`system.databaseSwitches`, which faults may take down); it goes with the system.
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
    /** Unrestricted credentials for tools that connect to the system's NATS. */
    readonly natsAdmin: NatsAuth | undefined,
    readonly databaseUrls: Record<DataService, string>,
    readonly dataDir: string,
    private readonly devKey: DevKey,
    readonly postgres: PostgresCluster | undefined,
    readonly databaseSwitches: Partial<Record<DataService, TcpSwitch>>,
    private readonly paymentHttpPort: number,
  ) {}

  static async start(options: SystemOptions = {}): Promise<TestSystem> {
    const sink: LineSink =
      options.sink ??
      (process.env.SHOPFLOW_TEST_LOGS ? (name, line) => process.stderr.write(`[${name}] ${line}\n`) : () => undefined);
    const users = options.natsUrl ? undefined : createNatsUsers();
    const nats = users ? await NatsServer.start({ users }) : undefined;
    const natsUrl = options.natsUrl ?? nats!.url;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-data-'));
    // Made before the gateway starts, which finds it under the same DATA_DIR and verifies with it.
    const devKey = await loadDevKey(dataDir);
    let postgres: PostgresCluster | undefined;
    const databaseUrls = {} as Record<DataService, string>;
    const databaseSwitches: Partial<Record<DataService, TcpSwitch>> = {};
    try {
      if (options.databases === 'postgres' && options.ownPostgres)
        postgres = await PostgresCluster.start(options.ownPostgres === true ? {} : options.ownPostgres);
      for (const s of DATA_SERVICES) {
        if (options.databases !== 'postgres') {
          databaseUrls[s] = `sqlite:${path.join(dataDir, `${s}.db`)}`;
          continue;
        }
        const url = await createDatabase(`shopflow_${s}`, postgres?.adminUrl ?? PG_ADMIN_URL);
        if (!postgres) databaseUrls[s] = url;
        else {
          const sw = (databaseSwitches[s] = await TcpSwitch.start({ host: '127.0.0.1', port: postgres.port }));
          databaseUrls[s] = sw.route(url);
        }
      }
    } catch (error) {
      await nats?.stop({ removeStore: true });
      await Promise.all(Object.values(databaseSwitches).map((p) => p.down()));
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
    // The payment service's HTTP side port: /health, /ready and /metrics.
    const paymentHttpPort = await freePort();
    env.PAYMENT_HTTP_PORT = String(paymentHttpPort);
    for (const s of DATA_SERVICES) env[`${s.toUpperCase()}_DATABASE_URL`] = databaseUrls[s];
    const services = {} as Record<ServiceName, ServiceProcess>;
    for (const s of SERVICE_NAMES)
      services[s] = new ServiceProcess({ name: s, port: ports[s], env: { ...env, ...natsServiceEnv(users, s) }, sink });
    const natsAdmin = users?.admin ?? loadNatsAuth();
    const system = new TestSystem(
      services,
      nats,
      natsUrl,
      natsAdmin,
      databaseUrls,
      dataDir,
      devKey,
      postgres,
      databaseSwitches,
      paymentHttpPort,
    );
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

  /** Where a service answers HTTP: /health, /ready, /metrics (the payment service on its side port). */
  httpUrl(service: ServiceName): string {
    return service === 'payment' ? `http://127.0.0.1:${this.paymentHttpPort}` : this.url(service);
  }

  get gatewayUrl(): string {
    return this.url('gateway');
  }

  /** A bearer token the gateway accepts: a customer's (`subject` is the customer id) or an admin's. */
  token(subject: string, role: Role = Role.Customer): Promise<string> {
    return mintToken(this.devKey, { subject, role });
  }

  /** `Authorization` headers carrying `token(subject, role)`. */
  async authorization(subject: string, role: Role = Role.Customer): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.token(subject, role)}` };
  }

  /** Stops everything; `keepData` leaves the databases and the NATS store for a post-mortem. */
  async stop({ keepData = false } = {}): Promise<void> {
    await Promise.all(Object.values(this.services).map((s) => s.stop()));
    await this.nats?.stop({ removeStore: !keepData });
    // An own cluster goes whole (or stays whole, stopped, for the post-mortem).
    await Promise.all(Object.values(this.databaseSwitches).map((p) => p.down()));
    await this.postgres?.stop({ removeData: !keepData });
    if (keepData) return;
    for (const url of Object.values(this.databaseUrls)) {
      if (url.startsWith('postgres') && !this.postgres) await dropDatabase(url).catch(() => undefined);
    }
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
