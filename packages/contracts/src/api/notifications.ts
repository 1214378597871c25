import { Type, type Static } from '@sinclair/typebox';
import { DELIVERY_STATUSES, NOTIFICATION_KINDS, NotificationChannel, TERMINAL_ORDER_STATUSES } from '../statuses.js';
import { problemResponses } from './problem.js';
import type { Api, ApiRoute } from './route.js';
import { Cursor, Limit, NextCursor, PathId } from './shared.js';

/** One customer notification as the read API serves it. */
export const NotificationView = Type.Object(
  {
    id: Type.String(),
    order_id: Type.String(),
    customer_id: Type.String(),
    kind: Type.Union(NOTIFICATION_KINDS.map((k) => Type.Literal(k))),
    order_status: Type.Union(TERMINAL_ORDER_STATUSES.map((s) => Type.Literal(s))),
    channel: Type.Literal(NotificationChannel.Email),
    message: Type.String(),
    created_at: Type.String(),
    /** How its delivery went: attempts made, and when it was sent (null until then). */
    delivery: Type.Object({
      status: Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s))),
      attempts: Type.Integer({ minimum: 0 }),
      sent_at: Type.Union([Type.String(), Type.Null()]),
    }),
  },
  { $id: 'Notification' },
);
export type NotificationView = Static<typeof NotificationView>;

const notification = Type.Ref(NotificationView);

/** The notification service's public read API. */
export const NotificationsApi = {
  schemas: [NotificationView],
  routes: {
    list: {
      method: 'GET',
      url: '/notifications',
      access: 'customer',
      schema: {
        summary: "List a customer's notifications, newest first, a page at a time",
        description:
          "customer_id is required, except from a customer, for whom it defaults to itself; another customer's is 403.",
        querystring: Type.Object(
          {
            customer_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ notifications: Type.Array(notification), next_cursor: NextCursor }),
          ...problemResponses(400, 403),
        },
      },
    },
    get: {
      method: 'GET',
      url: '/notifications/:notification_id',
      access: 'customer',
      schema: {
        summary: "Get a notification (another customer's is 404)",
        params: Type.Object({ notification_id: PathId }),
        response: { 200: notification, ...problemResponses(404) },
      },
    },
  } satisfies Record<string, ApiRoute>,
} satisfies Api;
