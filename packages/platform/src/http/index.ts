export {
  createHttpServer,
  httpListener,
  type HttpServer,
  type HttpServerOptions,
  type ConnectionLimits,
  type ReadinessCheck,
} from './server.js';
export { createHttpClient, type HttpClient, type HttpResponse, type RequestOptions } from './client.js';
export { Problem, problem, problemOf, problemResponses, PROBLEM_CONTENT_TYPE } from './problem.js';
export { listLimit, notFound, orNotFound } from './handlers.js';
export { actsFor, callerOf, customerScope, ownedOrNotFound, requestPrincipal } from './principal.js';
