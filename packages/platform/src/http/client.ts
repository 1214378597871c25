import { Pool, errors as undiciErrors } from 'undici';
import { AppError, ErrorCode } from '../errors.js';

export interface HttpResponse<T> {
  status: number;
  body: T;
}

export interface RequestOptions {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** JSON over a pool of kept-alive connections to one upstream; undici's instrumentation carries the trace context. */
export interface HttpClient {
  request<T = unknown>(options: RequestOptions): Promise<HttpResponse<T>>;
  close(): Promise<void>;
}

export function createHttpClient(baseUrl: string, { connections = 64, timeoutMs = 2000 } = {}): HttpClient {
  const pool = new Pool(baseUrl, { connections, keepAliveTimeout: 30_000, pipelining: 1 });
  return {
    async request<T>(o: RequestOptions): Promise<HttpResponse<T>> {
      const timeout = o.timeoutMs ?? timeoutMs;
      const headers: Record<string, string> = { accept: 'application/json', ...o.headers };
      let body: string | undefined;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] = 'application/json';
      }
      try {
        const res = await pool.request({
          method: o.method,
          path: o.path,
          headers,
          body,
          headersTimeout: timeout,
          bodyTimeout: timeout,
          signal: AbortSignal.timeout(timeout),
        });
        const text = await res.body.text();
        let parsed: unknown = undefined;
        if (text.length > 0) {
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = text;
          }
        }
        return { status: res.statusCode, body: parsed as T };
      } catch (error) {
        const timedOut =
          error instanceof undiciErrors.HeadersTimeoutError ||
          error instanceof undiciErrors.BodyTimeoutError ||
          (error as Error).name === 'TimeoutError' ||
          (error as Error).name === 'AbortError';
        throw new AppError(
          timedOut ? ErrorCode.DeadlineExceeded : ErrorCode.Unavailable,
          `${o.method} ${baseUrl}${o.path}: ${timedOut ? `no answer within ${timeout} ms` : (error as Error).message}`,
          { cause: error },
        );
      }
    },
    close: () => pool.close(),
  };
}
