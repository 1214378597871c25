import type { IncomingHttpHeaders } from 'node:http';
import replyFrom, { type FastifyReplyFromHooks } from '@fastify/reply-from';
import { Type, type TObject } from '@sinclair/typebox';
import { PROBLEM_CONTENT_TYPE, problem, type HttpServer } from '@shopflow/platform/http';
import { traceHeaders } from '@shopflow/platform/tracing';
import type { Upstream, UpstreamName } from '../adapters/upstream.js';

/** A public route the gateway forwards, path unchanged, to the service that owns it. */
export interface ProxyRoute {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  summary: string;
  params?: TObject;
}

const OrderParams = Type.Object({ order_id: Type.String() });
const ProductParams = Type.Object({ product_id: Type.String() });
const NotificationParams = Type.Object({ notification_id: Type.String() });
const SagaActionParams = Type.Object({ order_id: Type.String(), '*': Type.String({ description: 'the action' }) });

/**
 * The public API, per owning service. Anything not listed (inventory's internal /reservations
 * saga API, say) is not routed and answers 404.
 */
export const PUBLIC_ROUTES: Record<UpstreamName, readonly ProxyRoute[]> = {
  order: [
    { method: 'POST', url: '/orders', summary: 'Place an order' },
    { method: 'GET', url: '/orders', summary: 'List orders' },
    { method: 'GET', url: '/orders/:order_id', params: OrderParams, summary: 'Get an order' },
    { method: 'POST', url: '/orders/:order_id/status', params: OrderParams, summary: "Change an order's status" },
  ],
  inventory: [
    { method: 'GET', url: '/inventory/:product_id', params: ProductParams, summary: "Get a product's stock" },
    { method: 'PUT', url: '/inventory/:product_id', params: ProductParams, summary: 'Create or restock a product' },
    { method: 'POST', url: '/inventory/:product_id/reserve', params: ProductParams, summary: 'Reserve stock' },
  ],
  notification: [
    { method: 'GET', url: '/notifications', summary: "List a customer's notifications" },
    { method: 'GET', url: '/notifications/:notification_id', params: NotificationParams, summary: 'Get a notification' },
  ],
  saga: [
    { method: 'GET', url: '/sagas', summary: 'List sagas' },
    { method: 'GET', url: '/sagas/:order_id', params: OrderParams, summary: "Get an order's saga" },
    { method: 'POST', url: '/sagas/:order_id/*', params: SagaActionParams, summary: 'Act on a saga' },
  ],
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

  await app.register(async (scope) => {
    await scope.register(replyFrom, { base: upstream.url, undici: upstream.pool, disableRequestLogging: true });
    // The owning service parses and validates bodies; the gateway passes the client's bytes on.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    for (const route of PUBLIC_ROUTES[upstream.name]) {
      scope.route({
        method: route.method,
        url: route.url,
        schema: { summary: route.summary, tags: [upstream.name], ...(route.params ? { params: route.params } : {}) },
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
