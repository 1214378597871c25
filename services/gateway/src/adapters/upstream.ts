import type { FastifyReply } from 'fastify';
import { Pool, errors } from 'undici';
import { forward, type Failure, type Outgoing } from './forward.js';

/** The HTTP services behind the gateway (payment is reached over gRPC instead). */
export type UpstreamName = 'order' | 'inventory' | 'notification' | 'saga';

/** How the gateway uses one upstream. */
export interface UpstreamLimits {
  /** Connections kept alive to it. */
  connections: number;
  /** Requests that may wait for one of those connections; past it `forward` refuses at once. */
  queue: number;
  /** An upstream slower than this, to its headers or between body chunks, has timed out. */
  timeoutMs: number;
}

/** One HTTP service behind the gateway: a pool of kept-alive connections to its base URL. */
export interface Upstream {
  readonly name: UpstreamName;
  readonly url: string;
  readonly pool: Pool;
  /**
   * Sends `outgoing` and streams the answer into `reply`; `failed` answers the client when none
   * came. False, with nothing sent, when `queue` requests already wait for a connection.
   */
  forward(outgoing: Outgoing, reply: FastifyReply, failed: (reply: FastifyReply, failure: Failure) => void): boolean;
  /** Resolves when GET /health answers 200 in time; rejects with a short reason that names no internals. */
  probe(timeoutMs: number): Promise<void>;
  /** Closes the pool once its in-flight requests are done. */
  close(): Promise<void>;
}

/**
 * Opens no connection yet: the pool connects on first use and keeps up to `connections` alive for
 * reuse. Requests beyond them wait in the pool's queue, which `queue` bounds.
 */
export function createUpstream(name: UpstreamName, url: string, limits: UpstreamLimits): Upstream {
  const { connections, queue, timeoutMs } = limits;
  // A service that does not accept a connection in time is as good as away.
  const pool = new Pool(url, { connections, pipelining: 1, connectTimeout: 2000 });
  // Counted here rather than read from pool.stats, which walks every connection on each read.
  let inFlight = 0;
  const settled = () => void inFlight--;
  return {
    name,
    url,
    pool,
    forward(outgoing, reply, failed) {
      // With pipelining 1 each connection carries one request: those beyond `connections` wait.
      if (inFlight - connections >= queue) return false;
      inFlight++;
      forward(pool, outgoing, timeoutMs, reply, failed, settled);
      return true;
    },
    async probe(timeoutMs) {
      let status: number;
      try {
        const res = await pool.request({ method: 'GET', path: '/health', signal: AbortSignal.timeout(timeoutMs) });
        status = res.statusCode;
        await res.body.dump();
      } catch (error) {
        throw new Error(isTimeout(error) ? 'timed out' : 'unreachable', { cause: error });
      }
      if (status !== 200) throw new Error(`health answered ${status}`);
    },
    close: () => pool.close(),
  };
}

function isTimeout(error: unknown): boolean {
  return (
    error instanceof errors.HeadersTimeoutError ||
    error instanceof errors.ConnectTimeoutError ||
    (error as Error).name === 'TimeoutError'
  );
}
