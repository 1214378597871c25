import type { Logger } from 'pino';

/** An instance's health as discovery reports it: its own /ready answered 200, or it did not. */
export const Health = { Passing: 'passing', Critical: 'critical' } as const;
export type Health = (typeof Health)[keyof typeof Health];

/** One running instance of a service, as discovery knows it. Times in RFC 3339. */
export interface Instance {
  service: string;
  /** Unique per process (several instances of one service may share a host). */
  id: string;
  /** The host other processes reach it at (ADVERTISE_HOST). */
  address: string;
  /** The port it takes requests on (gRPC for the payment service). */
  port: number;
  /** The port serving /health and /ready when it is not `port` (the payment service's side port). */
  httpPort?: number;
  health: Health;
  startedAt: string;
  /** The last heartbeat (NATS registry); Consul runs its own checks and does not say. */
  lastSeen?: string;
}

/** What an instance says of itself when it registers; the registry adds health and lastSeen. */
export type Registration = Omit<Instance, 'health' | 'lastSeen'>;

/**
 * A service registry: one process registers itself (at most one instance per Registry object),
 * and anyone lists. `list` answers every instance known, with its health; `passingOnly` keeps the healthy ones.
 */
export interface Registry {
  /** Registers this process's instance, or renews it. */
  register(self: Registration, health: Health): Promise<void>;
  /** Renews the registration with the current health (the NATS registry forgets an instance that stops; Consul checks by itself). */
  heartbeat(health: Health): Promise<void>;
  /** Removes this process's instance at once; nothing when it is not registered. */
  deregister(): Promise<void>;
  list(service?: string, options?: { passingOnly?: boolean }): Promise<Instance[]>;
}

/** The URL of an instance's /ready (what Consul checks, and what the NATS heartbeat reports). */
export function readyUrl(instance: Registration): string {
  return `http://${hostForUrl(instance.address)}:${instance.httpPort ?? instance.port}/ready`;
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Asks `url` (an instance's /ready) once: passing on a 2xx within `timeoutMs`, critical otherwise. */
export async function probeHealth(url: string, timeoutMs: number): Promise<Health> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok ? Health.Passing : Health.Critical;
  } catch {
    return Health.Critical;
  }
}

/** A registration kept alive in the background; `stop` deregisters. */
export interface KeptRegistration {
  /** Resolves once the instance is registered (never rejects; failures are retried each interval). */
  readonly registered: Promise<void>;
  /** Stops the heartbeat and deregisters, so that callers stop choosing this instance before it closes. */
  stop(): Promise<void>;
}

/**
 * Registers `self` and renews it every `intervalMs` with its health as `health()` finds it. A failed
 * round (NATS or Consul away) is logged and tried again at the next one; the service runs on meanwhile.
 */
export function keepRegistered(
  registry: Registry,
  self: Registration,
  { intervalMs, health, logger }: { intervalMs: number; health: () => Promise<Health>; logger: Logger },
): KeptRegistration {
  let registered = false;
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let markRegistered!: () => void;
  const registeredOnce = new Promise<void>((resolve) => (markRegistered = resolve));
  const round = async () => {
    try {
      const now = await health();
      if (stopped) return;
      if (registered) await registry.heartbeat(now);
      else {
        await registry.register(self, now);
        registered = true;
        markRegistered();
        logger.info({ id: self.id, address: self.address, port: self.port }, 'registered with discovery');
      }
      failures = 0;
    } catch (error) {
      // Logged at the second failure of a run (the first round often races the connection being
      // made at start-up) and then now and again, not every two seconds.
      if (failures++ % 30 === 1) logger.warn({ err: error, failures }, 'discovery registration failed; will retry');
    }
  };
  let running: Promise<void> = Promise.resolve();
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = round().finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  running = round().finally(schedule);
  return {
    registered: registeredOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      if (registered) await registry.deregister();
    },
  };
}
