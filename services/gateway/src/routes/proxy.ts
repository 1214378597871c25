import type { IncomingHttpHeaders } from 'node:http';
import replyFrom, { type FastifyReplyFromHooks } from '@fastify/reply-from';
import { Type } from '@sinclair/typebox';
import {
  DeadLettersApi,
  InventoryApi,
  NotificationsApi,
  OrdersApi,
  SagasApi,
  type Api,
  type ApiRoute,
} from '@shopflow/contracts/api';
import { PROBLEM_CONTENT_TYPE, problem, problemResponses, type HttpServer } from '@shopflow/platform/http';
import type { Upstream, UpstreamName } from '../adapters/upstream.js';
import { principalHeaders } from '../auth/access.js';
import { forwardPath } from './paths.js';

const { list: listSagas, get: getSaga, retry: retrySaga } = SagasApi.routes;

/**
 * Any action on a saga goes to the orchestrator, which knows its actions (today only retry);
 * documented with the retry's contract.
 */
const actOnSaga: ApiRoute = {
  method: 'POST',
  url: '/sagas/:order_id/*',
  access: 'admin',
  schema: {
    ...retrySaga.schema,
    summary: 'Act on a saga',
    description: `\`retry\`: ${retrySaga.schema.summary}`,
    params: Type.Composite([retrySaga.schema.params, Type.Object({ '*': Type.String({ description: 'the action' }) })]),
  },
};

/**
 * The public API, per owning service, as contracts declares it: the gateway forwards each route
 * with the path unchanged. Anything not listed (inventory's internal /reservations saga API, say)
 * is not routed and answers 404.
 */
export const PUBLIC_API: Record<UpstreamName, Api> = {
  order: OrdersApi,
  inventory: InventoryApi,
  notification: NotificationsApi,
  saga: {
    schemas: [...SagasApi.schemas, ...DeadLettersApi.schemas],
    routes: { list: listSagas, get: getSaga, act: actOnSaga, ...prefixed('dlq', DeadLettersApi.routes) },
  },
};

function prefixed(prefix: string, routes: Readonly<Record<string, ApiRoute>>): Record<string, ApiRoute> {
  return Object.fromEntries(Object.entries(routes).map(([name, route]) => [`${prefix}-${name}`, route]));
}

/** How the gateway waits on an upstream. */
export interface ProxyLimits {
  /** An upstream slower than this answers 504. */
  timeoutMs: number;
  /** Requests already waiting for one of the upstream's connections past which a new one answers 503 at once. */
  queue: number;
}

/**
 * Registers `upstream`'s public routes, each with its contracts' `access`, forwarding a request
 * over the upstream's pool to the path the route matched (rebuilt from its parameters), with its
 * query string, body bytes, the caller's principal and trace context, and returning the
 * upstream's answer without its hop-by-hop headers. An unreachable upstream, or one with a full
 * queue, answers 503 and one slower than `timeoutMs` 504, as problem+json.
 */
export async function proxyRoutes(app: HttpServer, upstream: Upstream, { timeoutMs, queue }: ProxyLimits): Promise<void> {
  const hooks: FastifyReplyFromHooks = {
    timeout: timeoutMs,
    // reply-from retries a GET that got a 503 up to ten times; the client should see the 503 at once.
    retryDelay: () => null,
    rewriteRequestHeaders: forwardedHeaders,
    rewriteHeaders: withoutHopByHop,
    onError: answerUnreachable,
  };

  const api = PUBLIC_API[upstream.name];
  for (const schema of api.schemas) app.addSchema(schema);

  await app.register(async (scope) => {
    await scope.register(replyFrom, { base: upstream.url, undici: upstream.pool, disableRequestLogging: true });
    // The owning service parses and validates bodies; the gateway passes the client's bytes on.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    // The schemas are the owning service's, shown in /openapi.json; the service validates and
    // serializes, so here nothing is checked and the upstream's bytes pass untouched.
    scope.setValidatorCompiler(() => () => true);
    scope.setSerializerCompiler(() => (data) => JSON.stringify(data));

    for (const route of Object.values(api.routes)) {
      scope.route({
        method: route.method,
        url: route.url,
        config: { access: route.access },
        schema: {
          ...route.schema,
          tags: [upstream.name],
          ...(route.access === 'anonymous' ? {} : { security: [{ bearer: [] }] }),
          // Beside the service's answers, the gateway's own: who may call, 503 when the service is away or
          // saturated, 504 when it is too slow.
          response: { ...problemResponses(...gatewayStatuses(route), 503, 504), ...route.schema.response },
        },
        handler(request, reply) {
          if (upstream.pool.stats.queued >= queue) {
            const body = problem(503, 'unavailable', 'too many requests are waiting for this service', undefined, request.url);
            return reply.code(503).header('retry-after', '1').type(PROBLEM_CONTENT_TYPE).send(body);
          }
          const path = forwardPath(route.url, request.params as Record<string, string>);
          const body = request.body as Buffer | undefined;
          // reply-from would re-encode a JSON body; handing it the bytes with their content-type sends them as they came.
          const contentType = request.headers['content-type'] ?? 'application/octet-stream';
          return reply.from(path, body === undefined ? hooks : { ...hooks, body, contentType });
        },
      });
    }
  });
}

/** The gateway's own answers for a route: 429 always, 401 and 403 where a token is needed. */
function gatewayStatuses(route: ApiRoute): number[] {
  return route.access === 'anonymous' ? [429] : route.access === 'customer' ? [401, 429] : [401, 403, 429];
}

type Hook<K extends keyof FastifyReplyFromHooks> = NonNullable<FastifyReplyFromHooks[K]>;

/**
 * Only what the services read goes upstream; any other client header stops at the gateway, and
 * the principal headers are always the gateway's own. The trace context is added by undici's
 * instrumentation: a child of the client span of this call.
 */
const forwardedHeaders: Hook<'rewriteRequestHeaders'> = (request, headers) => {
  const out: IncomingHttpHeaders = {
    ...principalHeaders(request.principal),
    // The gateway is the edge: whatever forwarding headers a client sent are its own claims.
    'x-forwarded-for': request.ip,
    'x-forwarded-proto': request.protocol,
  };
  if (headers.accept !== undefined) out.accept = headers.accept;
  if (headers['idempotency-key'] !== undefined) out['idempotency-key'] = headers['idempotency-key'];
  // A conditional restock names the version it read (the ETag the inventory answered).
  if (headers['if-match'] !== undefined) out['if-match'] = headers['if-match'];
  if (request.body !== undefined) {
    // reply-from has set both for the body it is about to send.
    out['content-type'] = headers['content-type'];
    out['content-length'] = headers['content-length'];
  }
  return out;
};

// RFC 9110 7.6.1, and the older ones proxies still strip.
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/** Connection management is per hop: the upstream's keep-alive terms, and what its Connection names, are not the client's. */
const withoutHopByHop: Hook<'rewriteHeaders'> = (headers) => {
  const named = headers.connection;
  for (const value of Array.isArray(named) ? named : [named ?? '']) {
    for (const name of String(value).split(',')) delete headers[name.trim().toLowerCase()];
  }
  for (const name of HOP_BY_HOP) delete headers[name];
  return headers;
};

const answerUnreachable: Hook<'onError'> = (reply, { error }) => {
  // reply-from marks every kind of timeout with 504; refused, reset and the rest mean unreachable.
  const timedOut = (error as { statusCode?: number }).statusCode === 504;
  const status = timedOut ? 504 : 503;
  const body = problem(status, timedOut ? 'deadline-exceeded' : 'unavailable', undefined, undefined, reply.request.url);
  void reply.code(status).type(PROBLEM_CONTENT_TYPE).send(body);
};
