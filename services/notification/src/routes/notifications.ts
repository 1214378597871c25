import { Type } from '@sinclair/typebox';
import { TERMINAL_ORDER_STATUSES } from '@shopflow/contracts';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import { problemResponses, type HttpServer } from '@shopflow/platform/http';
import { Channel, NOTIFICATION_KINDS, toView } from '../domain/notification.js';
import type { Notifications } from '../notifications.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

const NotificationView = Type.Object(
  {
    id: Type.String(),
    order_id: Type.String(),
    customer_id: Type.String(),
    kind: Type.Union(NOTIFICATION_KINDS.map((k) => Type.Literal(k))),
    order_status: Type.Union(TERMINAL_ORDER_STATUSES.map((s) => Type.Literal(s))),
    channel: Type.Literal(Channel.Email),
    message: Type.String(),
    created_at: Type.String(),
  },
  { $id: 'Notification' },
);

const ListQuery = Type.Object(
  {
    customer_id: Type.String({ minLength: 1, maxLength: 128 }),
    // Query strings are not coerced, so the number arrives as digits; larger values are capped.
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: `default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT}` })),
  },
  { additionalProperties: false },
);

const NotificationParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** The read API: a customer's notifications and one by id. */
export function notificationRoutes(app: HttpServer, notifications: Notifications): void {
  app.addSchema(NotificationView);

  app.get(
    '/notifications',
    {
      schema: {
        summary: "List a customer's notifications, newest first",
        querystring: ListQuery,
        response: { 200: Type.Object({ notifications: Type.Array(Type.Ref(NotificationView)) }), ...problemResponses(400) },
      },
    },
    async (request) => {
      const limit = Math.min(Number(request.query.limit ?? DEFAULT_LIMIT), MAX_LIMIT);
      const list = await notifications.listByCustomer(request.query.customer_id, limit);
      return { notifications: list.map(toView) };
    },
  );

  app.get(
    '/notifications/:id',
    {
      schema: {
        summary: 'Get a notification',
        params: NotificationParams,
        response: { 200: Type.Ref(NotificationView), ...problemResponses(404) },
      },
    },
    async (request) => {
      const notification = await notifications.get(request.params.id);
      if (!notification) throw new AppError(ErrorCode.NotFound, `notification ${request.params.id} not found`);
      return toView(notification);
    },
  );
}
