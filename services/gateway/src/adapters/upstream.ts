import { Pool, errors } from 'undici';

/** The HTTP services behind the gateway (payment is reached over gRPC instead). */
export type UpstreamName = 'order' | 'inventory' | 'notification' | 'saga';

/** One HTTP service behind the gateway: a pool of kept-alive connections to its base URL. */
export interface Upstream {
  readonly name: UpstreamName;
  readonly url: string;
  readonly pool: Pool;
  /** Resolves when GET /health answers 200 in time; rejects with a short reason that names no internals. */
  probe(timeoutMs: number): Promise<void>;
  /** Closes the pool once its in-flight requests are done. */
  close(): Promise<void>;
}

/**
 * Opens no connection yet: the pool connects on first use and keeps up to `connections` alive for
 * reuse. Requests beyond them wait in the pool's queue, which the proxy bounds.
 */
export function createUpstream(name: UpstreamName, url: string, connections = 64): Upstream {
  // A service that does not accept a connection in time is as good as away.
  const pool = new Pool(url, { connections, pipelining: 1, connectTimeout: 2000 });
  return {
    name,
    url,
    pool,
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
