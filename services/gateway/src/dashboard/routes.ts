import fs from 'node:fs';
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { Logger } from 'pino';
import { Type } from '@sinclair/typebox';
import { PathId, Role, type OrderView, type Principal } from '@shopflow/contracts/api';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import { PROBLEM_CONTENT_TYPE, problem, type HttpServer } from '@shopflow/platform/http';
import type { Registry } from '@shopflow/platform/registry';
import { contextFrom, inSpan } from '@shopflow/platform/tracing';
import type { Upstream, UpstreamName } from '../adapters/upstream.js';
import type { Identity } from '../auth/identity.js';
import { DashboardFeed, DEFAULT_FEED_TIMING, type FeedListener, type FeedTiming } from './feed.js';
import { checkHealth, type PaymentProbe } from './health.js';
import { PAGE_HEADERS, dashboardPage, signInPage } from './page.js';
import {
  clearedCookie,
  crossSiteReason,
  hasSessionCookie,
  sessionCookie,
  sessionOf,
  signIn,
  type DashboardSession,
} from './session.js';
import { callUpstream, getJson, type UpstreamAnswer, type UpstreamCall } from './upstream-calls.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The operator the dashboard's session cookie proves, on the dashboard's API routes. */
    dashboardSession: DashboardSession | undefined;
  }
}

/** What the dashboard reads from and acts on. */
export interface DashboardDeps {
  identity: Identity;
  upstreams: Readonly<Record<UpstreamName, Upstream>>;
  payment: PaymentProbe;
  logger: Logger;
  /** How long a call to a service may take. */
  timeoutMs: number;
  timing?: FeedTiming;
  /** The registry the gateway reads for GET /services; the health panel lists its instances. */
  discovery?: Registry;
}

/** The dashboard as the app holds it: its feed, and how to end its live streams before the server closes. */
export interface Dashboard {
  feed: DashboardFeed;
  /** Ends every live stream and stops polling; idempotent. */
  close(): void;
}

/** The feed polls as this admin; an operator's own actions carry the operator's principal. */
const FEED_PRINCIPAL: Principal = { subject: 'dashboard', role: Role.Admin };
/** Test orders are placed as this customer. */
const DEMO_CUSTOMER: Principal = { subject: 'DEMO', role: Role.Customer };
const DEMO_ORDER = { customer_id: DEMO_CUSTOMER.subject, product_id: 'PROD001', quantity: 1, amount: 9.99 };
/** The live list shows the newest orders. */
const LIVE_ORDERS = 50;
/** Health probes are short: a slow service is as good as down to an operator. */
const PROBE_TIMEOUT_MS = 1000;
/** A page that reads slower than this much backlog is dropped; it reconnects and starts afresh. */
const MAX_STREAM_BACKLOG = 1024 * 1024;

/** Left out of /openapi.json (`hide` is @fastify/swagger's): the dashboard's routes are no public API. */
const HIDDEN = { hide: true } as FastifySchema;

// Served from the gateway's own folder, the same from src/ (tests) and dist/ (the process).
const STATIC = new URL('../../static/', import.meta.url);
const asset = (name: string) => fs.readFileSync(new URL(name, STATIC), 'utf8');

/**
 * The operators' dashboard at `/`: a server-rendered page whose script fills it from a live
 * stream (`/-/api/events`, Server-Sent Events) and acts through `/-/api/…`. An admin token signs
 * in once (`/?token=…` or the prompt's form); the session is an HttpOnly, SameSite=Strict cookie
 * that only these routes read, never the API. State changes also need a same-origin request.
 */
export async function registerDashboard(http: HttpServer, deps: DashboardDeps): Promise<Dashboard> {
  const { identity, upstreams, logger, timeoutMs } = deps;
  const feed = new DashboardFeed(feedSources(deps), logger, deps.timing ?? DEFAULT_FEED_TIMING);
  const streams = new Set<() => void>();
  const script = asset('dashboard.js');
  const style = asset('dashboard.css');

  await http.register(async (scope: HttpServer) => {
    scope.addHook('onSend', async (_request, reply) => {
      void reply.headers(PAGE_HEADERS);
    });
    // The sign-in form posts as a plain form; everything else the page sends is JSON.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 16 * 1024 },
      (_r, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );

    const page = (reply: FastifyReply, status: number, html: string) =>
      reply.code(status).type('text/html; charset=utf-8').send(html);

    scope.get('/', { schema: HIDDEN }, async (request, reply) => {
      const token = (request.query as Record<string, unknown>).token;
      if (typeof token === 'string') return enter(request, reply, token);
      const session = await sessionOf(identity, request);
      if (session) return page(reply, 200, dashboardPage(session.principal.subject));
      if (!hasSessionCookie(request)) return page(reply, 200, signInPage());
      void reply.header('set-cookie', clearedCookie(request));
      return page(reply, 200, signInPage('Your session has ended: sign in again.'));
    });

    scope.post('/-/session', { schema: HIDDEN }, async (request, reply) => {
      if (crossSiteReason(request, false) !== undefined) return page(reply, 403, signInPage('Sign in from this page.'));
      const token = (request.body as Record<string, unknown> | undefined)?.token;
      return enter(request, reply, typeof token === 'string' ? token.trim() : '');
    });

    scope.post('/-/session/end', { schema: HIDDEN }, async (request, reply) => {
      if (crossSiteReason(request, false) !== undefined) return page(reply, 403, signInPage('Sign out from this page.'));
      return reply.code(303).header('set-cookie', clearedCookie(request)).header('location', '/').send();
    });

    /** Signs in with `token`: the cookie, and back to `/` without the token in the address; or the prompt, refused. */
    async function enter(request: FastifyRequest, reply: FastifyReply, token: string) {
      const result = await signIn(identity, token);
      if (result.kind === 'signed-in') {
        return reply.code(303).header('set-cookie', sessionCookie(result.session, request)).header('location', '/').send();
      }
      return result.kind === 'invalid'
        ? page(reply, 401, signInPage('That token is not valid, or it has expired.'))
        : page(reply, 403, signInPage('That token is not an admin token: the dashboard is for operators.'));
    }

    scope.get('/-/dashboard.js', { schema: HIDDEN }, (_request, reply) =>
      reply.type('text/javascript; charset=utf-8').send(script),
    );
    scope.get('/-/dashboard.css', { schema: HIDDEN }, (_request, reply) => reply.type('text/css; charset=utf-8').send(style));
    scope.get('/favicon.ico', { schema: HIDDEN }, (_request, reply) => reply.code(204).send());

    await scope.register((api: HttpServer, _options, done) => {
      api.decorateRequest('dashboardSession', undefined);
      api.addHook('onRequest', async (request, reply) => {
        const session = await sessionOf(identity, request);
        if (!session) return refuse(reply, 401, 'unauthorized', 'sign in to the dashboard first');
        if (request.method !== 'GET') {
          const reason = crossSiteReason(request, true);
          if (reason !== undefined) return refuse(reply, 403, 'forbidden', `not from the dashboard's page: ${reason}`);
        }
        request.dashboardSession = session;
        return undefined;
      });

      api.get('/-/api/events', { schema: HIDDEN, exposeHeadRoute: false }, (request, reply) => {
        const session = request.dashboardSession!;
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          ...PAGE_HEADERS,
          'content-type': 'text/event-stream; charset=utf-8',
          'x-accel-buffering': 'no',
        });
        // After a drop, the browser reconnects this soon.
        res.write('retry: 2000\n\n');
        let unsubscribe = () => {};
        const end = () => {
          unsubscribe();
          streams.delete(end);
          if (!res.writableEnded) res.end();
        };
        const send: FeedListener = (event, data) => {
          // The session ends with its token, a live stream too.
          if (Date.now() >= session.expiresAt || res.writableLength > MAX_STREAM_BACKLOG) return end();
          res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
        };
        streams.add(end);
        res.on('close', end);
        unsubscribe = feed.subscribe(send);
      });

      api.get(
        '/-/api/sagas/:order_id',
        { schema: { ...HIDDEN, params: Type.Object({ order_id: PathId }) } },
        async (request, reply) => {
          const path = `/sagas/${encodeURIComponent(request.params.order_id)}`;
          return relay(reply, await call('saga', { method: 'GET', path }, request.dashboardSession!.principal));
        },
      );

      api.post(
        '/-/api/sagas/:order_id/retry',
        { schema: { ...HIDDEN, params: Type.Object({ order_id: PathId }) } },
        async (request, reply) => {
          const path = `/sagas/${encodeURIComponent(request.params.order_id)}/retry`;
          const answer = await call('saga', { method: 'POST', path }, request.dashboardSession!.principal);
          feed.poke();
          return relay(reply, answer);
        },
      );

      api.post(
        '/-/api/dlq/:seq/replay',
        { schema: { ...HIDDEN, params: Type.Object({ seq: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }) }) } },
        async (request, reply) => {
          const answer = await call(
            'saga',
            { method: 'POST', path: `/dlq/${request.params.seq}/replay` },
            request.dashboardSession!.principal,
          );
          feed.poke();
          return relay(reply, answer);
        },
      );

      api.post(
        '/-/api/test-orders',
        {
          schema: {
            ...HIDDEN,
            body: Type.Object({ count: Type.Integer({ minimum: 1, maximum: 20 }) }, { additionalProperties: false }),
          },
        },
        async (request) => {
          // Each order starts a trace of its own, as an order from a client would.
          const answers = await Promise.all(
            Array.from({ length: request.body.count }, () =>
              inSpan('dashboard test order', { parent: contextFrom(undefined) }, () =>
                call('order', { method: 'POST', path: '/orders', body: DEMO_ORDER }, DEMO_CUSTOMER),
              ).catch((error: unknown): UpstreamAnswer => ({
                status: 503,
                contentType: 'text/plain',
                body: (error as Error).message,
              })),
            ),
          );
          feed.poke();
          const placed = answers.filter((a) => a.status === 201).map((a) => (JSON.parse(a.body) as OrderView).id);
          return { placed, refused: answers.filter((a) => a.status !== 201).map((a) => a.status) };
        },
      );
      done();
    });
  });

  /** A call to a service for the dashboard; an unreachable one is a 503, as through the proxy. */
  async function call(name: UpstreamName, request: UpstreamCall, principal: Principal): Promise<UpstreamAnswer> {
    try {
      return await callUpstream(upstreams[name], request, principal, timeoutMs);
    } catch (error) {
      throw new AppError(ErrorCode.Unavailable, `the ${name} service did not answer`, { cause: error });
    }
  }

  let closed = false;
  return {
    feed,
    close() {
      if (closed) return;
      closed = true;
      feed.close();
      for (const end of [...streams]) end();
    },
  };
}

function relay(reply: FastifyReply, answer: UpstreamAnswer): FastifyReply {
  return reply.code(answer.status).type(answer.contentType).send(answer.body);
}

function refuse(reply: FastifyReply, status: number, slug: string, detail: string): FastifyReply {
  return reply
    .code(status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(problem(status, slug, detail, undefined, reply.request.url.split('?')[0]));
}

/** The feed's sources: the services behind the gateway, read as the dashboard's own admin. */
function feedSources({ upstreams, payment, timeoutMs, discovery }: DashboardDeps) {
  const read = <T>(name: UpstreamName, path: string) =>
    getJson<T>(upstreams[name], path, FEED_PRINCIPAL, timeoutMs).catch((error: unknown) => {
      const e = error as Error;
      throw new Error(
        e.name === 'TimeoutError' ? `${name} timed out` : e.message.startsWith(name) ? e.message : `${name} is unreachable`,
      );
    });
  return {
    orders: async () => (await read<{ orders: OrderView[] }>('order', `/orders?limit=${LIVE_ORDERS}`)).orders,
    stats: () => read('order', '/orders/stats?window_s=60'),
    health: () => checkHealth(Object.values(upstreams), payment, PROBE_TIMEOUT_MS, discovery),
    parked: () => read('saga', '/sagas?parked=true&limit=50'),
    dlq: () => read('saga', '/dlq?limit=50'),
  };
}
