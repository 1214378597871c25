import type { Principal } from '@shopflow/contracts/api';
import { traceHeaders } from '@shopflow/platform/tracing';
import type { Upstream } from '../adapters/upstream.js';
import { principalHeaders } from '../auth/access.js';

/** An upstream's answer, passed on as it came. */
export interface UpstreamAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** What the dashboard asks of a service: a path, and a body to send as JSON. */
export interface UpstreamCall {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
}

/**
 * Calls `upstream` as the proxy would for `principal` (principal headers set by the gateway,
 * trace context of the current request). Rejects when the service is unreachable or slower
 * than `timeoutMs`.
 */
export async function callUpstream(
  upstream: Upstream,
  { method, path, body }: UpstreamCall,
  principal: Principal,
  timeoutMs: number,
): Promise<UpstreamAnswer> {
  const res = await upstream.pool.request({
    method,
    path,
    headers: {
      ...traceHeaders(),
      ...principalHeaders(principal),
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.body.text();
  const type = res.headers['content-type'];
  return { status: res.statusCode, contentType: typeof type === 'string' ? type : 'application/json', body: text };
}

/** A 200 answer's JSON; anything else rejects with the status. */
export async function getJson<T>(upstream: Upstream, path: string, principal: Principal, timeoutMs: number): Promise<T> {
  const answer = await callUpstream(upstream, { method: 'GET', path }, principal, timeoutMs);
  if (answer.status !== 200) throw new Error(`${upstream.name} answered ${answer.status}`);
  return JSON.parse(answer.body) as T;
}
