import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { EventType, Subject } from './subjects.js';
import { OrderStatus } from './statuses.js';

const Id = Type.String({ minLength: 1, maxLength: 128 });
// RFC 3339; no `format` keyword, so the schema needs no format registry to compile.
const Timestamp = Type.String({ minLength: 20, maxLength: 40 });
const MinorUnits = Type.Integer({ minimum: 0 });

/** Fields every event carries: its unique id (also the JetStream `Nats-Msg-Id`), the seed's `event_type` and `order_id`. */
const envelope = {
  event_id: Id,
  order_id: Id,
  occurred_at: Timestamp,
};

export const OrderCreatedEvent = Type.Object({
  ...envelope,
  event_type: Type.Literal(EventType.OrderCreated),
  customer_id: Id,
  product_id: Id,
  quantity: Type.Integer({ minimum: 1 }),
  /** The seed's decimal amount. */
  amount: Type.Number({ minimum: 0 }),
  amount_minor: MinorUnits,
});
export type OrderCreatedEvent = Static<typeof OrderCreatedEvent>;

const terminalFields = {
  ...envelope,
  customer_id: Id,
  product_id: Id,
  quantity: Type.Integer({ minimum: 1 }),
  amount: Type.Number({ minimum: 0 }),
  /** Always published; optional only so that events published before it was added still validate. */
  amount_minor: Type.Optional(MinorUnits),
  reason: Type.Optional(Type.String({ maxLength: 1000 })),
};
export const OrderCompletedEvent = Type.Object({
  ...terminalFields,
  event_type: Type.Literal(EventType.OrderCompleted),
  status: Type.Literal(OrderStatus.Completed),
});
export const OrderCancelledEvent = Type.Object({
  ...terminalFields,
  event_type: Type.Literal(EventType.OrderCancelled),
  status: Type.Literal(OrderStatus.Cancelled),
});
export const OrderFailedEvent = Type.Object({
  ...terminalFields,
  event_type: Type.Literal(EventType.OrderFailed),
  status: Type.Literal(OrderStatus.Failed),
});
export type OrderCompletedEvent = Static<typeof OrderCompletedEvent>;
export type OrderCancelledEvent = Static<typeof OrderCancelledEvent>;
export type OrderFailedEvent = Static<typeof OrderFailedEvent>;
/** Any of the three events that end an order. */
export type OrderTerminalEvent = OrderCompletedEvent | OrderCancelledEvent | OrderFailedEvent;

/**
 * An order cancelled or failed through the order API (never one the saga commanded), published
 * beside orders.cancelled / orders.failed for the saga alone, so the saga does not hear its own endings echoed.
 */
export const OrderEndedByApiEvent = Type.Object({
  ...terminalFields,
  amount_minor: MinorUnits,
  event_type: Type.Literal(EventType.OrderEndedByApi),
  status: Type.Union([Type.Literal(OrderStatus.Cancelled), Type.Literal(OrderStatus.Failed)]),
});
export type OrderEndedByApiEvent = Static<typeof OrderEndedByApiEvent>;

const paymentResultFields = {
  ...envelope,
  payment_id: Id,
  customer_id: Id,
  success: Type.Boolean(),
  amount: Type.Number({ minimum: 0 }),
};
export const PaymentSucceededEvent = Type.Object({
  ...paymentResultFields,
  event_type: Type.Literal(EventType.PaymentSuccess),
});
export const PaymentFailedEvent = Type.Object({
  ...paymentResultFields,
  event_type: Type.Literal(EventType.PaymentFailed),
});
export const PaymentRefundedEvent = Type.Object({
  ...envelope,
  event_type: Type.Literal(EventType.PaymentRefunded),
  payment_id: Id,
  amount: Type.Number({ minimum: 0 }),
  reason: Type.Optional(Type.String({ maxLength: 1000 })),
});
export type PaymentSucceededEvent = Static<typeof PaymentSucceededEvent>;
export type PaymentFailedEvent = Static<typeof PaymentFailedEvent>;
export type PaymentRefundedEvent = Static<typeof PaymentRefundedEvent>;

export const OrderStatusCommand = Type.Object({
  ...envelope,
  event_type: Type.Literal(EventType.OrderStatusRequested),
  status: Type.Union([
    Type.Literal(OrderStatus.Confirmed),
    Type.Literal(OrderStatus.PaymentProcessing),
    Type.Literal(OrderStatus.Completed),
    Type.Literal(OrderStatus.Cancelled),
    Type.Literal(OrderStatus.Failed),
  ]),
  reason: Type.Optional(Type.String({ maxLength: 1000 })),
});
export type OrderStatusCommand = Static<typeof OrderStatusCommand>;

/** Every subject with the one schema its payload is published with and validated against on receipt. */
export const EventSchemas = {
  [Subject.OrderCreated]: OrderCreatedEvent,
  [Subject.OrderCompleted]: OrderCompletedEvent,
  [Subject.OrderCancelled]: OrderCancelledEvent,
  [Subject.OrderFailed]: OrderFailedEvent,
  [Subject.OrderEndedByApi]: OrderEndedByApiEvent,
  [Subject.PaymentSucceeded]: PaymentSucceededEvent,
  [Subject.PaymentFailed]: PaymentFailedEvent,
  [Subject.PaymentRefunded]: PaymentRefundedEvent,
  [Subject.OrderStatusCommand]: OrderStatusCommand,
} as const satisfies Record<Subject, TSchema>;

/** The payload type published on a subject. */
export type EventOf<S extends Subject> = Static<(typeof EventSchemas)[S]>;

const checks = new Map<string, TypeCheck<TSchema>>();

/** Validates a decoded payload against its subject's schema; returns the reasons it fails (empty when valid). */
export function validateEvent(subject: Subject, payload: unknown): string[] {
  let check = checks.get(subject);
  if (!check) {
    check = TypeCompiler.Compile(EventSchemas[subject]);
    checks.set(subject, check);
  }
  if (check.Check(payload)) return [];
  return [...check.Errors(payload)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
}
