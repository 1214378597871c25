import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyReply } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@shopflow/platform/logger';
import { createHttpServer, type HttpServer } from '@shopflow/platform/http';
import { waitFor } from '@shopflow/devkit';
import type { Failure } from './forward.js';
import { createUpstream, type Upstream } from './upstream.js';

type Answer = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A plain node:http upstream that answers each request with the current `answer`. */
async function startUpstream(): Promise<{ url: string; answer: Answer; seen: http.IncomingMessage[]; close(): Promise<void> }> {
  const upstream = {
    url: '',
    seen: [] as http.IncomingMessage[],
    answer: ((_req, res) => res.end('ok')) as Answer,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    upstream.seen.push(req);
    upstream.answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return upstream;
}

/** A server whose GET /<name> forwards to `upstreams[name]`, recording the failures it answered. */
async function startEdge(
  upstreams: Record<string, Upstream>,
  failures: Failure[],
): Promise<{ url: string; server: HttpServer; lastReply(): FastifyReply | undefined }> {
  const server = await createHttpServer({ service: 'edge', logger: createLogger('edge', 'silent') });
  let last: FastifyReply | undefined;
  for (const [name, upstream] of Object.entries(upstreams)) {
    server.get(`/${name}`, (_request, reply) => {
      last = reply;
      const sent = upstream.forward({ method: 'GET', path: '/x', headers: [], body: undefined }, reply, (r, failure) => {
        failures.push(failure);
        void r.code(failure === 'timeout' ? 504 : 503).send({ failure });
      });
      if (!sent) void reply.code(503).send({ failure: 'queue' });
    });
  }
  await server.listen({ host: '127.0.0.1', port: 0 });
  return { url: `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`, server, lastReply: () => last };
}

describe('forwarding over undici dispatch', () => {
  let up: Awaited<ReturnType<typeof startUpstream>>;
  // Both reach the same server: one waits long (a close within a test's deadline is the client's
  // doing), the other gives up after 300 ms.
  let patient: Upstream;
  let hasty: Upstream;
  let edge: Awaited<ReturnType<typeof startEdge>>;
  const failures: Failure[] = [];

  beforeAll(async () => {
    up = await startUpstream();
    patient = createUpstream('inventory', up.url, { connections: 4, queue: 0, timeoutMs: 60_000 });
    hasty = createUpstream('order', up.url, { connections: 4, queue: 4, timeoutMs: 300 });
    edge = await startEdge({ x: patient, hasty }, failures);
  });
  afterAll(async () => {
    await edge?.server.close();
    await patient?.close();
    await hasty?.close();
    await up?.close();
  });
  afterEach(() => {
    up.seen.length = 0;
    failures.length = 0;
  });

  it('streams a large answer without a length byte for byte, holding the upstream back while the client does not read', async () => {
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
    const total = 1024; // 64 MiB: more than every socket buffer on the way can hold
    let written = 0;
    let upstreamBlocked = false;
    up.answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const more = () => {
        upstreamBlocked = false;
        while (written < total) {
          written++;
          if (!res.write(chunk)) {
            upstreamBlocked = true;
            return void res.once('drain', more);
          }
        }
        res.end();
      };
      more();
    };

    const res = await fetch(`${edge.url}/x`);
    // The client reads nothing yet: the gateway must stop reading the upstream, not buffer its answer.
    await waitFor('the upstream to be held back', () => upstreamBlocked && edge.lastReply()?.raw.writableNeedDrain);
    expect(written).toBeLessThan(total);
    expect(edge.lastReply()!.raw.writableLength).toBeLessThan(1024 * 1024);

    const reader = res.body!.getReader();
    let received = 0;
    let intact = true;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let i = 0; i < value.length; i++) if (value[i] !== ((received + i) % chunk.length) % 251) intact = false;
      received += value.length;
    }
    expect(res.status).toBe(200);
    expect(received).toBe(total * chunk.length);
    expect(intact).toBe(true);
  });

  it("passes an upstream 5xx on with its status, body and headers, and not as the gateway's own failure", async () => {
    up.answer = (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '7', vary: 'accept' });
      res.end('{"status":503}');
    };

    const res = await fetch(`${edge.url}/x`);

    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('vary')).toBe('accept');
    expect(await res.text()).toBe('{"status":503}');
    expect(failures).toEqual([]);
  });

  it('aborts the upstream request when the client goes away, and frees its place', async () => {
    let upstreamClosed = false;
    // Never answers: only an abort closes the connection before the test's deadline.
    up.answer = (req) => req.socket.once('close', () => (upstreamClosed = true));
    const client = new AbortController();

    const pending = fetch(`${edge.url}/x`, { signal: client.signal }).catch((error: Error) => error);
    await waitFor('the request to reach the upstream', () => up.seen.length === 1);
    client.abort();

    expect(await pending).toBeInstanceOf(Error);
    await waitFor('the upstream request to be aborted', () => upstreamClosed);
    expect(failures).toEqual([]);
    // Four connections and no queue: four answers at once prove that the aborted one no longer counts.
    up.answer = (_req, res) => res.end('ok');
    const statuses = await Promise.all([1, 2, 3, 4].map(async () => (await fetch(`${edge.url}/x`)).status));
    expect(statuses).toEqual([200, 200, 200, 200]);
  });

  it('refuses at once past its connections when no request may wait', async () => {
    const held: http.ServerResponse[] = [];
    up.answer = (_req, res) => void held.push(res);

    const first = [1, 2, 3, 4].map(() => fetch(`${edge.url}/x`));
    await waitFor('four requests to hold the four connections', () => held.length === 4);
    const fifth = await fetch(`${edge.url}/x`);
    for (const res of held) res.end('late');

    expect(fifth.status).toBe(503);
    expect(await fifth.json()).toEqual({ failure: 'queue' });
    expect((await Promise.all(first)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  it('answers a timeout when the upstream is slower than the limit, and cuts an answer that stalls mid-body', async () => {
    up.answer = () => undefined;
    const silent = await fetch(`${edge.url}/hasty`);
    expect(silent.status).toBe(504);

    up.answer = (_req, res) => {
      res.writeHead(200, { 'content-length': '10' });
      res.write('12345');
    };
    const stalled = await fetch(`${edge.url}/hasty`);
    expect(stalled.status).toBe(200);
    await expect(stalled.text()).rejects.toThrow();
    expect(failures).toEqual(['timeout']);
  });

  it('answers unreachable when the upstream is gone', async () => {
    const gone = createUpstream('order', 'http://127.0.0.1:1', { connections: 1, queue: 1, timeoutMs: 500 });
    const local: Failure[] = [];
    const other = await startEdge({ x: gone }, local);
    try {
      const res = await fetch(`${other.url}/x`);
      expect(res.status).toBe(503);
      expect(local).toEqual(['unreachable']);
    } finally {
      await other.server.close();
      await gone.close();
    }
  });
});
