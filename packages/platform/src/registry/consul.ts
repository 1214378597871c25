import { Health, readyUrl, type Instance, type Registration, type Registry } from './types.js';
import { sortInstances } from './nats.js';

/** How the Consul registry registers its instance. */
export interface ConsulOptions {
  /** The agent's address: `CONSUL_HTTP_ADDR`, `host:port` or a URL. */
  address: string;
  /** `CONSUL_HTTP_TOKEN`, sent as `X-Consul-Token` when set. */
  token?: string;
  /** How often the agent calls the instance's /ready. */
  checkIntervalMs: number;
  /** How long a critical instance stays registered before the agent drops it (Consul's minimum is 1 minute). */
  deregisterCriticalAfterMs: number;
  /** Deadline of each call to the agent. */
  timeoutMs?: number;
}

/** A service entry of `GET /v1/health/service/:name`, reduced to the fields read here. */
interface HealthEntry {
  Service: { ID: string; Service: string; Address: string; Port: number; Meta?: Record<string, string> | null };
  Checks: { Status: string; ServiceID: string }[];
}

/**
 * The registry on a Consul agent, through its HTTP API: the instance registers with an HTTP
 * check on its /ready, which the agent runs by itself (so `heartbeat` sends nothing), and
 * deregisters on shutdown; reads go to `/v1/health/service/:name`.
 */
export function consulRegistry(options: ConsulOptions): Registry {
  const base = (/^https?:\/\//.test(options.address) ? options.address : `http://${options.address}`).replace(/\/$/, '');
  const call = async (method: 'GET' | 'PUT', path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(options.token ? { 'x-consul-token': options.token } : {}), 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 2000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`consul ${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  };
  const seconds = (ms: number) => `${Math.max(1, Math.round(ms / 1000))}s`;
  let self: Registration | undefined;

  const healthOf = async (service: string, passingOnly: boolean): Promise<Instance[]> => {
    const entries = (await call(
      'GET',
      `/v1/health/service/${encodeURIComponent(service)}${passingOnly ? '?passing' : ''}`,
    )) as HealthEntry[];
    return entries.map(({ Service: s, Checks }) => {
      // Node checks (serfHealth) count too: an instance on a failed node is not healthy.
      const passing = Checks.every((c) => c.Status === 'passing');
      const httpPort = Number(s.Meta?.http_port);
      return {
        service: s.Service,
        id: s.ID,
        address: s.Address,
        port: s.Port,
        ...(Number.isInteger(httpPort) && httpPort > 0 ? { httpPort } : {}),
        health: passing ? Health.Passing : Health.Critical,
        startedAt: s.Meta?.started_at ?? '',
      };
    });
  };

  return {
    async register(registration) {
      self = registration;
      await call('PUT', '/v1/agent/service/register', {
        ID: registration.id,
        Name: registration.service,
        Address: registration.address,
        Port: registration.port,
        Meta: {
          started_at: registration.startedAt,
          ...(registration.httpPort === undefined ? {} : { http_port: String(registration.httpPort) }),
        },
        Check: {
          HTTP: readyUrl(registration),
          Interval: seconds(options.checkIntervalMs),
          Timeout: seconds(Math.min(options.checkIntervalMs, 2000)),
          DeregisterCriticalServiceAfter: seconds(options.deregisterCriticalAfterMs),
        },
      });
    },
    // The agent runs the HTTP check itself.
    heartbeat: () => Promise.resolve(),
    async deregister() {
      if (!self) return;
      const { id } = self;
      self = undefined;
      await call('PUT', `/v1/agent/service/deregister/${encodeURIComponent(id)}`);
    },
    async list(service, { passingOnly = false } = {}) {
      const names =
        service === undefined ? Object.keys((await call('GET', '/v1/catalog/services')) as Record<string, string[]>) : [service];
      // Consul registers itself as the service "consul"; that is not one of ours.
      const ours = names.filter((name) => name !== 'consul');
      return sortInstances((await Promise.all(ours.map((name) => healthOf(name, passingOnly)))).flat());
    },
  };
}
