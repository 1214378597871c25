import type { TSchema } from '@sinclair/typebox';

/** What a route declares besides its handler: Fastify validates with it and OpenAPI is generated from it. */
export interface RouteSchema {
  summary: string;
  description?: string;
  params?: TSchema;
  querystring?: TSchema;
  headers?: TSchema;
  body?: TSchema;
  response: Record<number, TSchema>;
}

/**
 * Who may call a route through the gateway: anyone; a customer token (acting on its own orders,
 * notifications and payments; an admin token may too); or only an admin token.
 */
export type Access = 'anonymous' | 'customer' | 'admin';

/** One route of the public API: the owning service registers it with its handler; the gateway forwards it. */
export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  access: Access;
  schema: RouteSchema;
}

/** A service's public API: the schemas its routes reference by `$id` (add them before the routes), and the routes. */
export interface Api {
  schemas: readonly TSchema[];
  routes: Readonly<Record<string, ApiRoute>>;
}
