import fs from 'node:fs';
import path from 'node:path';

/** The six processes and the seed's environment variable for each one's port (DESIGN.md). */
export const ServiceDefaults = {
  gateway: { portEnv: 'GATEWAY_PORT', port: 8080 },
  order: { portEnv: 'ORDER_SERVICE_PORT', port: 8081 },
  payment: { portEnv: 'PAYMENT_SERVICE_PORT', port: 8082 },
  inventory: { portEnv: 'INVENTORY_SERVICE_PORT', port: 8083 },
  notification: { portEnv: 'NOTIFICATION_SERVICE_PORT', port: 8084 },
  saga: { portEnv: 'SAGA_ORCHESTRATOR_PORT', port: 8085 },
} as const;
export type ServiceName = keyof typeof ServiceDefaults;
export const SERVICE_NAMES = Object.keys(ServiceDefaults) as ServiceName[];

/** Raised at start-up for a missing or malformed setting; the process exits naming it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function envString(name: string, fallback: string, env: Env = process.env): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

export function envNumber(
  name: string,
  fallback: number,
  { min = -Infinity, max = Infinity, integer = false } = {},
  env: Env = process.env,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new ConfigError(`${name}=${raw} is not ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`);
  }
  return value;
}

export function envInt(
  name: string,
  fallback: number,
  range: { min?: number; max?: number } = {},
  env: Env = process.env,
): number {
  return envNumber(name, fallback, { ...range, integer: true }, env);
}

/** What every service reads at start-up. */
export interface ServiceConfig {
  service: ServiceName;
  host: string;
  port: number;
  natsUrl: string;
  /** How the service authenticates to NATS; none when unset. */
  natsAuth?: NatsAuth;
  /** `postgres://…` or `sqlite:<path>`. */
  databaseUrl: string;
  /** How the database is opened (pool size, SQLite durability). */
  database: DatabaseOptions;
  /** pino level: trace, debug, info, warn, error, fatal or silent. */
  logLevel: string;
  /** How long JetStream waits for an ack before redelivering. */
  ackWaitMs: number;
  /** Deliveries after which a failing message goes to the dead-letter stream. */
  maxDeliver: number;
  shutdownTimeoutMs: number;
  /** How long consumers remember applied event ids; far longer than JetStream's 2-minute duplicate window. */
  inboxRetentionMs: number;
  /** Size limit of every JetStream stream; a full stream refuses publishes, which wait in the outbox. */
  streamMaxBytes: number;
  /** How the instance registers itself and finds others (README "Discovery"). */
  discovery: DiscoveryConfig;
}

/** Where an instance registers: NATS (a key-value bucket), a Consul agent, or nowhere. */
export interface DiscoveryConfig {
  mode: 'nats' | 'consul' | 'off';
  /** `CONSUL_HTTP_ADDR`, for mode consul. */
  consulAddress?: string;
  /** `CONSUL_HTTP_TOKEN`, for mode consul. */
  consulToken?: string;
  /** The host others reach this instance at: `ADVERTISE_HOST`, else the bind host (127.0.0.1 for a wildcard bind). */
  advertiseHost: string;
  /** How often the instance renews its registration (NATS) or Consul checks it. */
  heartbeatMs: number;
}

/** Discovery settings: `DISCOVERY` (nats, consul, off; consul when `CONSUL_HTTP_ADDR` is set, else nats). */
export function loadDiscoveryConfig(bindHost: string, env: Env = process.env): DiscoveryConfig {
  const consulAddress = envString('CONSUL_HTTP_ADDR', '', env);
  const mode = envChoice('DISCOVERY', consulAddress ? 'consul' : 'nats', ['nats', 'consul', 'off'] as const, env);
  if (mode === 'consul' && !consulAddress) throw new ConfigError('DISCOVERY=consul needs CONSUL_HTTP_ADDR');
  const wildcard = bindHost === '0.0.0.0' || bindHost === '::';
  const consulToken = envString('CONSUL_HTTP_TOKEN', '', env);
  return {
    mode,
    ...(consulAddress ? { consulAddress } : {}),
    ...(consulToken ? { consulToken } : {}),
    advertiseHost: envString('ADVERTISE_HOST', wildcard ? '127.0.0.1' : bindHost, env),
    heartbeatMs: envInt('DISCOVERY_HEARTBEAT_MS', 2000, { min: 100 }, env),
  };
}

/** NATS credentials: a user and password, or a `.creds` file (JWT and NKey seed) read at each (re)connect. */
export type NatsAuth = { user: string; password: string } | { credsFile: string };

/** NATS credentials from `NATS_CREDS`, or `NATS_USER` with `NATS_PASSWORD`; undefined when none is set. */
export function loadNatsAuth(env: Env = process.env): NatsAuth | undefined {
  const credsFile = envString('NATS_CREDS', '', env);
  const user = envString('NATS_USER', '', env);
  const password = envString('NATS_PASSWORD', '', env);
  if (credsFile && (user || password)) throw new ConfigError('set either NATS_CREDS or NATS_USER/NATS_PASSWORD, not both');
  if (credsFile) {
    const file = path.resolve(credsFile);
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch {
      throw new ConfigError(`NATS_CREDS=${credsFile} is not a readable file`);
    }
    return { credsFile: file };
  }
  if (!user && !password) return undefined;
  if (!user || !password) throw new ConfigError('NATS_USER and NATS_PASSWORD go together');
  return { user, password };
}

/** Settings of the database connection that are not in its URL. */
export interface DatabaseOptions {
  /** Connections in a PostgreSQL pool. */
  poolSize: number;
  /** SQLite's `synchronous` pragma: NORMAL survives a process crash, FULL also power loss. */
  sqliteSynchronous: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';
  /** How long to wait for a PostgreSQL connection before the call fails as unavailable. */
  connectTimeoutMs: number;
  /** The deadline of one PostgreSQL statement (server-side, and client-side for a frozen server). */
  statementTimeoutMs: number;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const SQLITE_SYNCHRONOUS = ['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const;

/** Reads a setting that must be one of `allowed` (case-insensitive for the caller). */
export function envChoice<T extends string>(name: string, fallback: T, allowed: readonly T[], env: Env = process.env): T {
  const raw = envString(name, fallback, env);
  const value = allowed.find((a) => a.toLowerCase() === raw.toLowerCase());
  if (value === undefined) throw new ConfigError(`${name}=${raw} is not one of ${allowed.join(', ')}`);
  return value;
}

/** The database settings every service reads; exported for tools that open a service's database. */
export function loadDatabaseOptions(env: Env = process.env): DatabaseOptions {
  return {
    poolSize: envInt('PG_POOL_SIZE', 10, { min: 1 }, env),
    // FULL: a commit is fsynced before it is acknowledged, so power loss loses nothing acknowledged;
    // measured under the group commit at about 1% of npm run bench's settled orders/s.
    sqliteSynchronous: envChoice('SQLITE_SYNCHRONOUS', 'FULL', SQLITE_SYNCHRONOUS, env),
    connectTimeoutMs: envInt('DB_CONNECT_TIMEOUT_MS', 2000, { min: 100 }, env),
    statementTimeoutMs: envInt('DB_STATEMENT_TIMEOUT_MS', 10_000, { min: 100 }, env),
  };
}

export function portOf(service: ServiceName, env: Env = process.env): number {
  const d = ServiceDefaults[service];
  return envInt(d.portEnv, d.port, { min: 0, max: 65535 }, env);
}

/** Reads a service's configuration from the environment, with the seed's defaults. */
export function loadServiceConfig(service: ServiceName, env: Env = process.env): ServiceConfig {
  const dataDir = path.resolve(envString('DATA_DIR', '.data', env));
  const host = envString('HOST', '127.0.0.1', env);
  return {
    service,
    host,
    port: portOf(service, env),
    natsUrl: envString('NATS_URL', 'nats://127.0.0.1:4222', env),
    natsAuth: loadNatsAuth(env),
    databaseUrl: envString(`${service.toUpperCase()}_DATABASE_URL`, `sqlite:${path.join(dataDir, `${service}.db`)}`, env),
    database: loadDatabaseOptions(env),
    logLevel: envChoice('LOG_LEVEL', 'info', LOG_LEVELS, env),
    ackWaitMs: envInt('NATS_ACK_WAIT_MS', 30_000, { min: 1000 }, env),
    maxDeliver: envInt('NATS_MAX_DELIVER', 10, { min: 1 }, env),
    shutdownTimeoutMs: envInt('SHUTDOWN_TIMEOUT_MS', 10_000, { min: 100 }, env),
    inboxRetentionMs: envInt('INBOX_RETENTION_HOURS', 168, { min: 1 }, env) * 3600_000,
    // 1 GiB holds about a million orders' events; acknowledged events are purged as it fills,
    // so only an unconsumed backlog that big fills it. The four streams reserve 4 GiB of NATS's store.
    streamMaxBytes: envInt('NATS_STREAM_MAX_MB', 1024, { min: 1 }, env) * 1024 * 1024,
    discovery: loadDiscoveryConfig(host, env),
  };
}
