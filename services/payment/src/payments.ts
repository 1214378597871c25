import { randomUUID } from 'node:crypto';
import { EventType, PaymentStatus, Subject, fromMinorUnits } from '@shopflow/contracts';
import type { Db, Queryable } from '@shopflow/platform/db';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import type { Logger } from '@shopflow/platform/logger';
import type { Outbox } from '@shopflow/platform/messaging';
import { paymentsRepository as repo } from './db/payments-repository.js';
import {
  decideRefund,
  newPayment,
  refunded,
  replayCharge,
  voidedPayment,
  type Charge,
  type ChargeResult,
  type Decider,
  type Payment,
  type RefundResult,
} from './domain/payment.js';

export interface PaymentsDeps {
  db: Db;
  outbox: Outbox;
  decide: Decider;
  logger: Logger;
}

/** The payment service's use cases; each is one transaction, with its event when it has one. */
export function createPayments({ db, outbox, decide, logger }: PaymentsDeps) {
  async function emitResult(tx: Queryable, p: Payment): Promise<void> {
    const base = {
      event_id: randomUUID(),
      order_id: p.orderId,
      payment_id: p.id,
      customer_id: p.customerId,
      amount: fromMinorUnits(p.amountMinor),
      occurred_at: p.createdAt,
    };
    if (p.status === PaymentStatus.Success) {
      await outbox.enqueue(tx, Subject.PaymentSucceeded, { ...base, event_type: EventType.PaymentSuccess, success: true });
    } else {
      await outbox.enqueue(tx, Subject.PaymentFailed, { ...base, event_type: EventType.PaymentFailed, success: false });
    }
  }

  /** Reads the payment that a concurrent call committed first, after our insert yielded to it. */
  async function winner(tx: Queryable, orderId: string, lock = false): Promise<Payment> {
    const payment = await repo.findByOrder(tx, orderId, { lock });
    // A plain Error: the caller sees a bare INTERNAL, the log sees this.
    if (!payment) throw new Error(`payment for order ${orderId} neither inserted nor found`);
    return payment;
  }

  return {
    /** Charges an order once: a retry, or a charge after a void, returns the stored outcome. */
    async charge(charge: Charge): Promise<ChargeResult> {
      const now = new Date().toISOString();
      const candidate = newPayment(randomUUID(), charge, decide(), now);
      const result = await db.transaction(async (tx) => {
        // Insert first: a new order is the common case, and the unique order_id settles races.
        if (await repo.insertIfAbsent(tx, candidate)) {
          await emitResult(tx, candidate);
          return { ...replayCharge(candidate), replayed: false };
        }
        return { ...replayCharge(await winner(tx, charge.orderId)), replayed: true };
      });
      const { payment } = result;
      if (!result.replayed) {
        logger.debug({ order_id: payment.orderId, payment_id: payment.id, status: payment.status }, 'payment decided');
      } else if (payment.status !== PaymentStatus.Voided && payment.amountMinor !== charge.amountMinor) {
        logger.warn(
          {
            order_id: payment.orderId,
            payment_id: payment.id,
            amount_minor: payment.amountMinor,
            asked_minor: charge.amountMinor,
          },
          'charge retried with a different amount; the first outcome stands',
        );
      } else {
        logger.debug({ order_id: payment.orderId, payment_id: payment.id, status: payment.status }, 'charge replayed');
      }
      return { payment, success: result.success, message: result.message };
    },

    /** Refunds the order's charge, or voids the order when it was never charged, so a late charge is declined. */
    async refund(orderId: string, reason: string): Promise<RefundResult> {
      const now = new Date().toISOString();
      const result = await db.transaction(async (tx): Promise<RefundResult> => {
        let payment = await repo.findByOrder(tx, orderId, { lock: true });
        if (!payment) {
          const tombstone = voidedPayment(randomUUID(), orderId, reason, now);
          if (await repo.insertIfAbsent(tx, tombstone))
            return { payment: tombstone, refunded: false, message: tombstone.message };
          // A charge committed meanwhile: refund it like any other.
          payment = await winner(tx, orderId, true);
        }
        const decision = decideRefund(payment.status, reason);
        if (decision.kind === 'unchanged') return { payment, refunded: decision.refunded, message: decision.message };
        const after = refunded(payment, decision.message, reason, now);
        await repo.update(tx, after);
        await outbox.enqueue(tx, Subject.PaymentRefunded, {
          event_id: randomUUID(),
          event_type: EventType.PaymentRefunded,
          order_id: after.orderId,
          payment_id: after.id,
          amount: fromMinorUnits(after.amountMinor),
          occurred_at: now,
          ...(reason ? { reason } : {}),
        });
        return { payment: after, refunded: true, message: decision.message };
      });
      logger.debug(
        { order_id: orderId, payment_id: result.payment.id, status: result.payment.status, refunded: result.refunded },
        'refund decided',
      );
      return result;
    },

    async get(id: string): Promise<Payment> {
      const payment = await repo.findById(db, id);
      if (!payment) throw new AppError(ErrorCode.NotFound, `payment ${id} not found`);
      return payment;
    },

    async getByOrder(orderId: string): Promise<Payment> {
      const payment = await repo.findByOrder(db, orderId);
      if (!payment) throw new AppError(ErrorCode.NotFound, `no payment for order ${orderId}`);
      return payment;
    },
  };
}
export type Payments = ReturnType<typeof createPayments>;
