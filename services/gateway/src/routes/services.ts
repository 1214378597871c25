import { ServicesApi, type InstanceView } from '@shopflow/contracts/api';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import type { HttpServer } from '@shopflow/platform/http';
import type { Instance, Registry } from '@shopflow/platform/registry';

/** Where the gateway reads discovery from; undefined when discovery is off. */
export interface DiscoveryReader {
  mode: 'nats' | 'consul';
  registry: Registry;
}

function toView(i: Instance): InstanceView {
  return {
    id: i.id,
    address: i.address,
    port: i.port,
    ...(i.httpPort === undefined ? {} : { http_port: i.httpPort }),
    health: i.health,
    started_at: i.startedAt,
    ...(i.lastSeen === undefined ? {} : { last_seen: i.lastSeen }),
  };
}

/** GET /services (admin): every instance discovery knows, grouped by service. 503 when discovery is off or away. */
export function servicesRoutes(app: HttpServer, discovery: DiscoveryReader | undefined): void {
  for (const schema of ServicesApi.schemas) app.addSchema(schema);
  const { list } = ServicesApi.routes;
  app.route({
    method: list.method,
    url: list.url,
    config: { access: list.access },
    schema: { ...list.schema, tags: ['gateway'], security: [{ bearer: [] }] },
    async handler() {
      if (!discovery) throw new AppError(ErrorCode.Unavailable, 'discovery is off (DISCOVERY=off)');
      let instances: Instance[];
      try {
        instances = await discovery.registry.list();
      } catch (error) {
        throw new AppError(ErrorCode.Unavailable, `the ${discovery.mode} registry did not answer`, { cause: error });
      }
      const services: Record<string, InstanceView[]> = {};
      for (const i of instances) (services[i.service] ??= []).push(toView(i));
      return { discovery: discovery.mode, services };
    },
  });
}
