import type { IncomingHttpHeaders } from 'node:http';
import replyFrom, { type FastifyReplyFromHooks } from '@fastify/reply-from';
import { Type } from '@sinclair/typebox';
import { InventoryApi, NotificationsApi, OrdersApi, SagasApi, type Api, type ApiRoute } from '@shopflow/contracts/api';
import { PROBLEM_CONTENT_TYPE, problem, problemResponses, type HttpServer } from '@shopflow/platform/http';
import { traceHeaders } from '@shopflow/platform/tracing';
import type { Upstream, UpstreamName } from '../adapters/upstream.js';

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
  saga: { schemas: SagasApi.schemas, routes: { list: listSagas, get: getSaga, act: actOnSaga } },
};

/**
 * Registers `upstream`'s public routes, forwarding each request over the upstream's pool with its
 * query string, body bytes and trace context, and returning the upstream's answer untouched.
 * An unreachable upstream answers 503 and one slower than `timeoutMs` 504, as problem+json.
 */
export async function proxyRoutes(app: HttpServer, upstream: Upstream, timeoutMs: number): Promise<void> {
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
        // Beside the service's answers, the gateway's own: 503 when the service is away, 504 when it is too slow.
        schema: { ...route.schema, tags: [upstream.name], response: { ...problemResponses(503, 504), ...route.schema.response } },
        handler(request, reply) {
          const body = request.body as Buffer | undefined;
          // reply-from would re-encode a JSON body; handing it the bytes with their content-type sends them as they came.
          const contentType = request.headers['content-type'] ?? 'application/octet-stream';
          reply.from(undefined, body === undefined ? hooks : { ...hooks, body, contentType });
        },
      });
    }
  });
}

type Hook<K extends keyof FastifyReplyFromHooks> = NonNullable<FastifyReplyFromHooks[K]>;

/** Only what the services read goes upstream; any other client header stops at the gateway. */
const forwardedHeaders: Hook<'rewriteRequestHeaders'> = (request, headers) => {
  // A child of this request's span, so the upstream's span hangs under the gateway's.
  const out: IncomingHttpHeaders = traceHeaders();
  if (headers.accept !== undefined) out.accept = headers.accept;
  if (headers['idempotency-key'] !== undefined) out['idempotency-key'] = headers['idempotency-key'];
  if (request.body !== undefined) {
    // reply-from has set both for the body it is about to send.
    out['content-type'] = headers['content-type'];
    out['content-length'] = headers['content-length'];
  }
  return out;
};

/** Connection management is per hop: the upstream's keep-alive terms are not the client's. */
const withoutHopByHop: Hook<'rewriteHeaders'> = (headers) => {
  delete headers.connection;
  delete headers['keep-alive'];
  return headers;
};

const answerUnreachable: Hook<'onError'> = (reply, { error }) => {
  // reply-from marks every kind of timeout with 504; refused, reset and the rest mean unreachable.
  const timedOut = (error as { statusCode?: number }).statusCode === 504;
  const status = timedOut ? 504 : 503;
  const body = problem(status, timedOut ? 'deadline-exceeded' : 'unavailable', undefined, undefined, reply.request.url);
  void reply.code(status).type(PROBLEM_CONTENT_TYPE).send(body);
};
