import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { HttpServer } from '@shopflow/platform/http';

/** How many requests a principal may make. */
export interface RateLimit {
  /** Requests per second on average; 0 turns the limit off. */
  perSecond: number;
  /** Shared counts; without it this gateway counts alone, in memory. */
  redis?: Redis;
  /** Prefix of the Redis keys, so that gateways of different systems do not share counts. */
  prefix: string;
}

// Counted over two seconds, so that a client may burst to twice the rate for a moment.
const WINDOW_MS = 2000;

/**
 * Limits the routes registered after it, per principal: the token's subject when a valid token
 * came (the `authenticate` hook runs before), else the client address. Over the limit: 429
 * problem+json with Retry-After. With Redis away the requests pass: the limit protects the
 * gateway, it must not take it down.
 */
export async function registerRateLimit(app: HttpServer, { perSecond, redis, prefix }: RateLimit): Promise<void> {
  if (perSecond === 0) return;
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    max: perSecond * (WINDOW_MS / 1000),
    timeWindow: WINDOW_MS,
    keyGenerator: (request) => (request.principal ? `sub:${request.principal.subject}` : `ip:${request.ip}`),
    ...(redis ? { redis, nameSpace: prefix } : {}),
    skipOnError: true,
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    addHeaders: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true, 'retry-after': true },
    // Thrown: the server's error handler turns it into a problem (type rate-limited) and keeps the headers.
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`too many requests: retry in ${context.after}`), { statusCode: 429, code: 'RATE_LIMITED' }),
  });
}
