import { Type, type Static } from '@sinclair/typebox';
import { problemResponses } from './problem.js';
import type { Api, ApiRoute } from './route.js';

/** One instance that discovery knows, with its health as last reported (NATS heartbeat, or Consul's check). */
export const InstanceView = Type.Object(
  {
    id: Type.String({ description: 'unique per process' }),
    address: Type.String({ description: 'the host other processes reach it at' }),
    port: Type.Integer(),
    http_port: Type.Optional(Type.Integer({ description: 'where /health and /ready answer, when not `port`' })),
    health: Type.Union([Type.Literal('passing'), Type.Literal('critical')]),
    started_at: Type.String({ description: 'RFC 3339' }),
    last_seen: Type.Optional(Type.String({ description: 'the last heartbeat (NATS registry), RFC 3339' })),
  },
  { $id: 'Instance' },
);
export type InstanceView = Static<typeof InstanceView>;

/** The instances discovery knows, served by the gateway itself to operators. */
export const ServicesApi = {
  schemas: [InstanceView],
  routes: {
    list: {
      method: 'GET',
      url: '/services',
      access: 'admin',
      schema: {
        summary: 'The instances discovery knows, with their health, by service',
        response: {
          200: Type.Object({
            discovery: Type.Union([Type.Literal('nats'), Type.Literal('consul')]),
            services: Type.Record(Type.String(), Type.Array(Type.Ref(InstanceView))),
          }),
          ...problemResponses(401, 403, 503),
        },
      },
    },
  } satisfies Record<string, ApiRoute>,
} satisfies Api;
