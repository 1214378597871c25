import path from 'node:path';
import { ConfigError, envInt, envString } from '@shopflow/platform/config';
import type { ConnectionLimits } from '@shopflow/platform/http';

type Env = Record<string, string | undefined>;

/** Where the gateway's keys come from: its own development key, or an identity provider's JWKS. */
export type AuthSettings = { mode: 'local'; dataDir: string } | { mode: 'jwks'; jwksUrl: URL; issuer: string; audience: string };

/** Requests per second per principal; bursts to twice that. */
export interface RateLimitSettings {
  /** 0 turns the limit off. */
  perSecond: number;
  /** With it, counts are shared in Redis under this key prefix. */
  redisUrl: string | undefined;
  redisPrefix: string;
}

/** Everything the gateway reads from the environment, once, at start-up. */
export interface GatewaySettings {
  auth: AuthSettings;
  rateLimit: RateLimitSettings;
  connections: ConnectionLimits;
  /** How long an upstream may take to answer before the gateway gives up with 504. */
  upstreamTimeoutMs: number;
  /** Requests waiting for a connection to one upstream; past it the gateway answers 503 at once. */
  upstreamQueue: number;
  /** Connections the gateway keeps to each upstream. */
  upstreamConnections: number;
}

/** Reads the gateway's settings; a malformed or incomplete one throws a ConfigError naming it. */
export function loadGatewaySettings(env: Env = process.env): GatewaySettings {
  const jwks = envString('AUTH_JWKS_URL', '', env);
  let auth: AuthSettings;
  if (jwks === '') {
    auth = { mode: 'local', dataDir: path.resolve(envString('DATA_DIR', '.data', env)) };
  } else {
    const issuer = envString('AUTH_ISSUER', '', env);
    const audience = envString('AUTH_AUDIENCE', '', env);
    if (issuer === '' || audience === '') throw new ConfigError('AUTH_JWKS_URL needs AUTH_ISSUER and AUTH_AUDIENCE');
    if (!URL.canParse(jwks)) throw new ConfigError(`AUTH_JWKS_URL=${jwks} is not a URL`);
    auth = { mode: 'jwks', jwksUrl: new URL(jwks), issuer, audience };
  }
  const requestMs = envInt('GATEWAY_REQUEST_TIMEOUT_MS', 30_000, { min: 100 }, env);
  const headersMs = envInt('GATEWAY_HEADERS_TIMEOUT_MS', 10_000, { min: 100, max: requestMs }, env);
  return {
    auth,
    rateLimit: {
      perSecond: envInt('GATEWAY_RATE_LIMIT', 50, { min: 0 }, env),
      redisUrl: envString('REDIS_URL', '', env) || undefined,
      redisPrefix: envString('GATEWAY_RATE_LIMIT_PREFIX', 'shopflow-gateway-rate:', env),
    },
    connections: {
      headersMs,
      requestMs,
      keepAliveMs: envInt('GATEWAY_KEEP_ALIVE_TIMEOUT_MS', 5000, { min: 100 }, env),
      maxConnections: envInt('GATEWAY_MAX_CONNECTIONS', 10_000, { min: 1 }, env),
    },
    upstreamTimeoutMs: envInt('GATEWAY_UPSTREAM_TIMEOUT_MS', 10_000, { min: 1 }, env),
    upstreamQueue: envInt('GATEWAY_UPSTREAM_QUEUE', 1024, { min: 0 }, env),
    upstreamConnections: envInt('GATEWAY_UPSTREAM_CONNECTIONS', 64, { min: 1 }, env),
  };
}
