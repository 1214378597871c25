import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  DeadLettersApi,
  InventoryApi,
  NotificationsApi,
  OrdersApi,
  PrincipalHeader,
  SagasApi,
  type Api,
  type ApiRoute,
} from '@shopflow/contracts/api';
import { PROBLEM_CONTENT_TYPE, problem, problemResponses, type HttpServer } from '@shopflow/platform/http';
import type { Failure } from '../adapters/forward.js';
import type { Upstream, UpstreamName } from '../adapters/upstream.js';
import { ANONYMOUS } from '../auth/access.js';
import { pathBuilder } from './paths.js';

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

/**
 * Registers `upstream`'s public routes, each with its contracts' `access`, forwarding a request
 * over the upstream's pool to the path the route matched (rebuilt from its parameters), with its
 * query string, body bytes, the caller's principal and trace context, and streaming back the
 * upstream's answer without its hop-by-hop headers. An unreachable upstream, or one with a full
 * queue, answers 503 with Retry-After, and one too slow 504, as problem+json.
 */
export async function proxyRoutes(app: HttpServer, upstream: Upstream): Promise<void> {
  const api = PUBLIC_API[upstream.name];
  for (const schema of api.schemas) app.addSchema(schema);

  await app.register((scope, _options, done) => {
    // The owning service parses and validates bodies; the gateway passes the client's bytes on.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    // The schemas are the owning service's, shown in /openapi.json; the service validates and
    // serializes, so here nothing is checked and the upstream's bytes pass untouched.
    scope.setValidatorCompiler(() => () => true);
    scope.setSerializerCompiler(() => (data) => JSON.stringify(data));

    for (const route of Object.values(api.routes)) {
      const pathOf = pathBuilder(route.url);
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
          const body = request.body as Buffer | undefined;
          const outgoing = {
            method: request.method,
            path: pathOf(request.params as Record<string, string | undefined>) + queryOf(request.raw.url!),
            headers: forwardedHeaders(request, body !== undefined),
            body,
          };
          if (!upstream.forward(outgoing, reply, answerFailure)) {
            const problemBody = problem(
              503,
              'unavailable',
              'too many requests are waiting for this service',
              undefined,
              request.url,
            );
            void reply.code(503).header('retry-after', RETRY_AFTER).type(PROBLEM_CONTENT_TYPE).send(problemBody);
          }
        },
      });
    }
    done();
  });
}

/** The gateway's own answers for a route: 429 always, 401 and 403 where a token is needed. */
function gatewayStatuses(route: ApiRoute): number[] {
  return route.access === 'anonymous' ? [429] : route.access === 'customer' ? [401, 429] : [401, 403, 429];
}

/** The query string of a request target, with its `?`, or nothing. */
function queryOf(target: string): string {
  const query = target.indexOf('?');
  return query === -1 ? '' : target.slice(query);
}

/**
 * Only what the services read goes upstream; any other client header stops at the gateway, and
 * the principal headers are always the gateway's own. The trace context is added by undici's
 * instrumentation: a child of the client span of this call.
 */
function forwardedHeaders(request: FastifyRequest, withBody: boolean): string[] {
  const principal = request.principal ?? ANONYMOUS;
  const headers = request.headers;
  const out = [
    PrincipalHeader.Subject,
    principal.subject,
    PrincipalHeader.Role,
    principal.role,
    // The gateway is the edge: whatever forwarding headers a client sent are its own claims.
    'x-forwarded-for',
    request.ip,
    'x-forwarded-proto',
    request.protocol,
  ];
  if (headers.accept !== undefined) out.push('accept', headers.accept);
  const key = headers['idempotency-key'];
  if (typeof key === 'string') out.push('idempotency-key', key);
  // A conditional restock names the version it read (the ETag the inventory answered).
  if (headers['if-match'] !== undefined) out.push('if-match', headers['if-match']);
  // undici sets content-length for the body it sends.
  if (withBody) out.push('content-type', headers['content-type'] ?? 'application/octet-stream');
  return out;
}

/** Seconds a client should wait before trying an upstream that is away or saturated. */
const RETRY_AFTER = '1';

/** No answer came: 504 when the upstream was too slow, 503 with Retry-After when it could not be reached. */
function answerFailure(reply: FastifyReply, failure: Failure): void {
  const timedOut = failure === 'timeout';
  const status = timedOut ? 504 : 503;
  if (!timedOut) void reply.header('retry-after', RETRY_AFTER);
  const body = problem(status, timedOut ? 'deadline-exceeded' : 'unavailable', undefined, undefined, reply.request.url);
  void reply.code(status).type(PROBLEM_CONTENT_TYPE).send(body);
}
