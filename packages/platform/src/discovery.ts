import { portOf, type ServiceName } from './config.js';

type Env = Record<string, string | undefined>;

/**
 * Where a service answers. `<NAME>_SERVICE_URL` wins (e.g. ORDER_SERVICE_URL); otherwise the
 * service's port on SERVICE_HOST (127.0.0.1). Consul lookups (CONSUL_URL) are not wired yet.
 */
export function serviceUrl(service: ServiceName, env: Env = process.env): string {
  const explicit = env[`${service.toUpperCase()}_SERVICE_URL`];
  if (explicit) return explicit.replace(/\/$/, '');
  const host = env.SERVICE_HOST ?? '127.0.0.1';
  return `http://${host}:${portOf(service, env)}`;
}

/** host:port for a gRPC service (no scheme). */
export function serviceAddress(service: ServiceName, env: Env = process.env): string {
  return new URL(serviceUrl(service, env)).host;
}
