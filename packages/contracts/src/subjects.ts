/** NATS subjects. The seed's four (`orders.created`, `payments.success`, `payments.failed`, `orders.cancelled`) keep their names. */
export const Subject = {
  OrderCreated: 'orders.created',
  OrderCompleted: 'orders.completed',
  OrderCancelled: 'orders.cancelled',
  OrderFailed: 'orders.failed',
  /** An order ended through the order API, not by a saga command: for the saga alone, which unwinds it. */
  OrderEndedByApi: 'orders.ended-by-api',
  PaymentSucceeded: 'payments.success',
  PaymentFailed: 'payments.failed',
  PaymentRefunded: 'payments.refunded',
  /** Command from the saga to the order service: move an order to a status. */
  OrderStatusCommand: 'saga.order-status',
} as const;
export type Subject = (typeof Subject)[keyof typeof Subject];

/** JetStream streams and the subjects each captures (`orders.ended-by-api` is in ORDERS). Every stream is file-backed. */
export const Stream = {
  Orders: { name: 'ORDERS', subjects: ['orders.>'] },
  Payments: { name: 'PAYMENTS', subjects: ['payments.>'] },
  Saga: { name: 'SAGA', subjects: ['saga.>'] },
  DeadLetter: { name: 'DLQ', subjects: ['dlq.>'] },
} as const;
export type StreamName = (typeof Stream)[keyof typeof Stream]['name'];

/** Seed-compatible `event_type` values carried in every event payload. */
export const EventType = {
  OrderCreated: 'OrderCreated',
  OrderCompleted: 'OrderCompleted',
  OrderCancelled: 'OrderCancelled',
  OrderFailed: 'OrderFailed',
  OrderEndedByApi: 'OrderEndedByApi',
  PaymentSuccess: 'PaymentSuccess',
  PaymentFailed: 'PaymentFailed',
  PaymentRefunded: 'PaymentRefunded',
  OrderStatusRequested: 'OrderStatusRequested',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** The stream that captures `subject` (each stream owns one `<prefix>.>` wildcard). */
export function streamOf(subject: Subject): (typeof Stream)[keyof typeof Stream] {
  const stream = Object.values(Stream).find((s) => s.subjects.some((w) => subject.startsWith(w.slice(0, -1))));
  if (!stream) throw new Error(`no stream captures ${subject}`);
  return stream;
}

/** One service's line in `SERVICE_EVENTS`. */
export interface ServiceEvents {
  readonly publishes: readonly Subject[];
  readonly consumes: readonly Subject[];
}

/**
 * What each service publishes and consumes on NATS, declared once: service definitions take their
 * `publishes` from here (and must consume exactly `consumes`), and NATS permissions derive from it.
 * A service absent from this table does not use NATS.
 */
export const SERVICE_EVENTS = {
  order: {
    publishes: [
      Subject.OrderCreated,
      Subject.OrderCompleted,
      Subject.OrderCancelled,
      Subject.OrderFailed,
      Subject.OrderEndedByApi,
    ],
    consumes: [Subject.OrderStatusCommand],
  },
  payment: {
    publishes: [Subject.PaymentSucceeded, Subject.PaymentFailed, Subject.PaymentRefunded],
    consumes: [],
  },
  notification: {
    publishes: [],
    consumes: [Subject.OrderCompleted, Subject.OrderCancelled, Subject.OrderFailed],
  },
  saga: {
    publishes: [Subject.OrderStatusCommand],
    consumes: [Subject.OrderCreated, Subject.OrderEndedByApi],
  },
} as const satisfies Record<string, ServiceEvents>;
