import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A registration as the double keeps it, with its check's state. */
interface Entry {
  id: string;
  name: string;
  address: string;
  port: number;
  meta: Record<string, string>;
  check?: { url: string; intervalMs: number; timeoutMs: number; deregisterAfterMs?: number };
  status: 'passing' | 'warning' | 'critical';
  criticalSince?: number;
  timer?: NodeJS.Timeout;
}

/**
 * A stand-in for a Consul agent, built from Consul's documented HTTP API shapes, because no
 * Consul server can be installed here. It answers `PUT /v1/agent/service/register` (with an HTTP
 * `Check`), `PUT /v1/agent/service/deregister/:id`, `GET /v1/agent/services`,
 * `GET /v1/catalog/services` and `GET /v1/health/service/:name[?passing]`. It runs each HTTP check
 * itself on its interval (2xx passing, 429 warning, anything else critical, as Consul does), starts
 * a check critical as Consul does, and drops a service critical for longer than its
 * `DeregisterCriticalServiceAfter` (at once, where Consul's reaper takes up to 30 s more).
 */
export class ConsulDouble {
  /** Every request received, `METHOD path`, for tests that check what was called. */
  readonly requests: string[] = [];
  private readonly entries = new Map<string, Entry>();

  private constructor(
    private readonly server: http.Server,
    readonly address: string,
  ) {}

  static async start(): Promise<ConsulDouble> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const double = new ConsulDouble(server, `127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req, res) => void double.handle(req, res));
    return double;
  }

  /** The service IDs registered now. */
  registered(): string[] {
    return [...this.entries.keys()];
  }

  async stop(): Promise<void> {
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    this.entries.clear();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://consul');
    this.requests.push(`${req.method} ${url.pathname}`);
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      if (req.method === 'PUT' && url.pathname === '/v1/agent/service/register') {
        this.register(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
        return send(200);
      }
      const deregister = /^\/v1\/agent\/service\/deregister\/(.+)$/.exec(url.pathname);
      if (req.method === 'PUT' && deregister) {
        const id = decodeURIComponent(deregister[1]!);
        if (!this.entries.has(id)) return send(404, `Unknown service ID "${id}"`);
        this.remove(id);
        return send(200);
      }
      if (req.method === 'GET' && url.pathname === '/v1/agent/services') {
        return send(200, Object.fromEntries([...this.entries.values()].map((e) => [e.id, this.service(e)])));
      }
      if (req.method === 'GET' && url.pathname === '/v1/catalog/services') {
        // Consul lists itself too.
        return send(200, Object.fromEntries([['consul', []], ...[...this.entries.values()].map((e) => [e.name, []])]));
      }
      const health = /^\/v1\/health\/service\/(.+)$/.exec(url.pathname);
      if (req.method === 'GET' && health) {
        const name = decodeURIComponent(health[1]!);
        const passingOnly = url.searchParams.has('passing') && url.searchParams.get('passing') !== 'false';
        const entries = [...this.entries.values()].filter((e) => e.name === name && (!passingOnly || e.status === 'passing'));
        return send(
          200,
          entries.map((e) => ({
            Node: { Node: 'double', Address: '127.0.0.1' },
            Service: this.service(e),
            Checks: [
              {
                Node: 'double',
                CheckID: 'serfHealth',
                Name: 'Serf Health Status',
                Status: 'passing',
                ServiceID: '',
                ServiceName: '',
              },
              ...(e.check
                ? [
                    {
                      Node: 'double',
                      CheckID: `service:${e.id}`,
                      Name: `Service '${e.name}' check`,
                      Status: e.status,
                      ServiceID: e.id,
                      ServiceName: e.name,
                    },
                  ]
                : []),
            ],
          })),
        );
      }
      send(404, 'not found');
    } catch (error) {
      send(400, (error as Error).message);
    }
  }

  private service(e: Entry) {
    return { ID: e.id, Service: e.name, Tags: [], Meta: e.meta, Address: e.address, Port: e.port };
  }

  private register(body: Record<string, unknown>): void {
    const name = body.Name;
    if (typeof name !== 'string' || name === '') throw new Error('Missing service name');
    const id = typeof body.ID === 'string' && body.ID !== '' ? body.ID : name;
    const check = body.Check as Record<string, unknown> | undefined;
    this.remove(id);
    const entry: Entry = {
      id,
      name,
      address: typeof body.Address === 'string' ? body.Address : '',
      port: typeof body.Port === 'number' ? body.Port : 0,
      meta: (body.Meta as Record<string, string> | undefined) ?? {},
      // A service without checks counts as passing; a new check starts critical.
      status: check ? 'critical' : 'passing',
    };
    if (check) {
      if (typeof check.HTTP !== 'string' || typeof check.Interval !== 'string')
        throw new Error('HTTP check needs HTTP and Interval');
      entry.check = {
        url: check.HTTP,
        intervalMs: duration(check.Interval),
        timeoutMs: typeof check.Timeout === 'string' ? duration(check.Timeout) : 10_000,
        ...(typeof check.DeregisterCriticalServiceAfter === 'string'
          ? { deregisterAfterMs: duration(check.DeregisterCriticalServiceAfter) }
          : {}),
      };
      entry.criticalSince = Date.now();
    }
    this.entries.set(id, entry);
    if (entry.check) this.runCheck(entry);
  }

  private runCheck(entry: Entry): void {
    const check = entry.check!;
    const run = async () => {
      let status: Entry['status'];
      try {
        const res = await fetch(check.url, { signal: AbortSignal.timeout(check.timeoutMs) });
        await res.arrayBuffer();
        status = res.ok ? 'passing' : res.status === 429 ? 'warning' : 'critical';
      } catch {
        status = 'critical';
      }
      if (this.entries.get(entry.id) !== entry) return;
      entry.status = status;
      if (status !== 'critical') entry.criticalSince = undefined;
      else entry.criticalSince ??= Date.now();
      if (
        check.deregisterAfterMs !== undefined &&
        entry.criticalSince !== undefined &&
        Date.now() - entry.criticalSince >= check.deregisterAfterMs
      ) {
        this.remove(entry.id);
        return;
      }
      entry.timer = setTimeout(() => void run(), check.intervalMs);
    };
    void run();
  }

  private remove(id: string): void {
    clearTimeout(this.entries.get(id)?.timer);
    this.entries.delete(id);
  }
}

/** A Go-style duration as Consul takes it: `500ms`, `2s`, `1m`, `1h30m`. */
function duration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_all, n: string, unit: string) => {
    total += Number(n) * units[unit]!;
    return '';
  });
  if (rest !== '' || text === '') throw new Error(`bad duration "${text}"`);
  return total;
}
