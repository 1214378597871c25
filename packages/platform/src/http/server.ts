import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, {
  LogController,
  type FastifyContextConfig,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import swagger from '@fastify/swagger';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { AppError, ErrorCode, httpStatusOf, type FieldError } from '../errors.js';
import type { Listener } from '../lifecycle.js';
import { withTimeout } from '../retry.js';
import type { ServiceMetrics } from '../metrics.js';
import { traceHeaders, withOrder } from '../tracing.js';
import { PROBLEM_CONTENT_TYPE, Problem, problem, problemOf } from './problem.js';

export type HttpServer = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger, TypeBoxTypeProvider>;

/** What a 503 asks the client to wait before trying again, in seconds. */
export const RETRY_AFTER_S = 1;

/** The server as a service's listener: listen on host:port, close draining in-flight requests. */
export function httpListener(http: HttpServer): Listener {
  return { listen: (host, port) => http.listen({ host, port }), close: () => http.close() };
}

/** A dependency /ready looks at. A failing critical check makes the service not ready (503). */
export interface ReadinessCheck {
  name: string;
  /** Throws (or rejects) when the dependency is not usable. */
  check: () => unknown;
  critical?: boolean;
  /**
   * While this check fails (it must answer synchronously), every request but /health, /ready and
   * /openapi.json answers 503 with Retry-After: the service is not able to serve yet.
   */
  gate?: boolean;
}

export interface HttpServerOptions {
  service: string;
  logger: Logger;
  checks?: ReadinessCheck[];
  /** Largest request body in bytes. */
  bodyLimit?: number;
  /** Title for the generated OpenAPI document at /openapi.json. */
  title?: string;
  /** More of the OpenAPI document's top level (`components.securitySchemes`, say). */
  openapi?: Record<string, unknown>;
  /** Socket limits for a server that faces clients; Node's defaults otherwise. */
  connections?: ConnectionLimits;
  /** The service's metrics: requests are counted into them and GET /metrics serves them. */
  metrics?: ServiceMetrics;
  /** Route config for GET /metrics (the gateway's says who may read them). */
  metricsRouteConfig?: FastifyContextConfig;
}

/** Probes and scrapes: no span, no request metric. */
const UNTRACED = new Set(['/health', '/ready', '/metrics']);

/** How long a client may take and how many sockets it may hold. */
export interface ConnectionLimits {
  /** Until the request's headers are complete; at most `requestMs`. */
  headersMs: number;
  /** Until the whole request (headers and body) is in. */
  requestMs: number;
  /** An idle kept-alive socket is closed after this. */
  keepAliveMs: number;
  /** Sockets beyond this are closed as they arrive. */
  maxConnections: number;
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function fieldErrors(context: string | undefined, errors: AjvError[]): FieldError[] {
  return errors.map((e) => {
    const path = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const child =
      e.keyword === 'required'
        ? String(e.params.missingProperty)
        : e.keyword === 'additionalProperties'
          ? String(e.params.additionalProperty)
          : '';
    const field = [path, child].filter(Boolean).join('.') || (context ?? 'body');
    const reason =
      e.keyword === 'additionalProperties'
        ? 'is not an allowed field'
        : e.keyword === 'required'
          ? 'is required'
          : (e.message ?? 'is invalid');
    return { field, reason };
  });
}

function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

/**
 * A Fastify server with the project's conventions: TypeBox schemas validated strictly (no type
 * coercion of bodies, unknown fields rejected), every error as problem+json, W3C trace context
 * per request, GET /health, GET /ready and a generated /openapi.json.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const limits = options.connections;
  const app = Fastify({
    loggerInstance: options.logger,
    // Per-request log lines cost more than the request at a thousand orders a second; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    return503OnClosing: true,
    ...(limits && {
      keepAliveTimeout: limits.keepAliveMs,
      requestTimeout: limits.requestMs,
      // Node checks the header and request deadlines every connectionsCheckingInterval (30 s by default).
      http: { headersTimeout: limits.headersMs, connectionsCheckingInterval: Math.min(1000, limits.headersMs) },
    }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as HttpServer;
  if (limits) app.server.maxConnections = limits.maxConnections;

  // One span per request (a child of the caller's traceparent), current for the handler and all it calls.
  const otel = new FastifyOtelInstrumentation({
    instrumentHooks: false,
    instrumentHandler: false,
    ignorePaths: ({ url }) => UNTRACED.has(url.split('?')[0]!),
    requestHook: (span, request) => span.updateName(`${request.method} ${request.routeOptions.url ?? 'unrouted'}`),
  });
  await app.register(otel.plugin());

  // A JSON API: a text/plain body is an unsupported media type (415), not a string to validate.
  app.removeContentTypeParser('text/plain');
  app.addSchema(Problem);
  await app.register(swagger, {
    openapi: { ...options.openapi, info: { title: options.title ?? `Shopflow ${options.service}`, version: '1.0.0' } },
  });

  const gates = (options.checks ?? []).filter((c) => c.gate);
  if (gates.length > 0) {
    app.addHook('onRequest', (request, reply, done) => {
      const path = request.url.split('?')[0];
      if (path === '/health' || path === '/ready' || path === '/openapi.json') return done();
      for (const gate of gates) {
        try {
          gate.check();
        } catch (error) {
          reply.header('retry-after', String(RETRY_AFTER_S));
          const detail = error instanceof Error ? error.message : 'starting';
          return void sendProblem(
            reply,
            problem(503, 'unavailable', `${options.service} is starting: ${detail}`, undefined, request.url),
          );
        }
      }
      done();
    });
  }

  app.addHook('onRequest', (request, reply, done) => {
    // The caller learns the trace its request joined; log lines about an order name it.
    const { traceparent } = traceHeaders();
    if (traceparent) reply.header('traceparent', traceparent);
    const orderId = (request.params as { order_id?: unknown } | undefined)?.order_id;
    if (typeof orderId === 'string') withOrder(orderId, done);
    else done();
  });

  const metrics = options.metrics;
  if (metrics) {
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unrouted';
      if (!UNTRACED.has(route)) {
        metrics.http.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
      }
      done();
    });
    app.get('/metrics', { schema: { hide: true }, config: options.metricsRouteConfig ?? {} }, async (_request, reply) => {
      const { body, contentType } = await metrics.scrape();
      return reply.type(contentType).send(body);
    });
  }

  app.setErrorHandler((error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply) => {
    if ('validation' in error && error.validation) {
      const errors = fieldErrors(error.validationContext, error.validation);
      return sendProblem(
        reply,
        problem(400, 'validation', errors.map((e) => `${e.field} ${e.reason}`).join('; '), errors, request.url),
      );
    }
    if (error instanceof AppError) {
      if (httpStatusOf[error.code] >= 500 && !error.expected) request.log.warn({ err: error }, 'request failed');
      // A dependency is away: tell the client when to come back rather than leave it guessing.
      if (error.code === ErrorCode.Unavailable) reply.header('retry-after', String(RETRY_AFTER_S));
      return sendProblem(reply, problemOf(error, request.url));
    }
    if ((error as { code?: string }).code === 'UND_ERR_ABORTED' || request.raw.destroyed) {
      // The client went away mid-request (a proxied call aborted with it): nobody is left to answer.
      request.log.debug({ url: request.url }, 'client closed the request');
      return reply;
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      // Fastify's own 4xx (malformed JSON, wrong media type, body too large): safe to explain.
      const slug =
        error.code
          ?.toLowerCase()
          .replace(/^fst_err_/, '')
          .replaceAll('_', '-') ?? 'bad-request';
      return sendProblem(reply, problem(status, slug, error.message, undefined, request.url));
    }
    request.log.error({ err: error, url: request.url, method: request.method }, 'unhandled error');
    return sendProblem(reply, problem(500, 'internal', undefined, undefined, request.url));
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problem(404, 'not-found', `no route ${request.method} ${request.url.split('?')[0]}`, undefined, request.url),
    ),
  );

  const started = Date.now();
  app.get('/health', { schema: { hide: true } }, (_request, reply) =>
    reply.send({ status: 'ok', service: options.service, uptime_s: Math.round((Date.now() - started) / 1000) }),
  );

  app.get('/ready', { schema: { hide: true } }, async (_request, reply) => {
    const results: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      (options.checks ?? []).map(async (c) => {
        try {
          await withTimeout(Promise.resolve(c.check()), 2000);
          results[c.name] = 'ok';
        } catch (error) {
          results[c.name] = error instanceof Error ? error.message : 'failed';
          if (c.critical !== false) ready = false;
        }
      }),
    );
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', service: options.service, checks: results });
  });

  app.get('/openapi.json', { schema: { hide: true } }, (_request, reply) => reply.send(app.swagger()));
  return app;
}
