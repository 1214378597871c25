import { fromMinorUnits } from '@shopflow/contracts';
import type { PaymentClient } from '@shopflow/platform/grpc';
import type { PaymentPort } from '../domain/ports.js';

/** The payment service over gRPC. */
export function createPaymentGateway(payments: PaymentClient, timeoutMs: number): PaymentPort {
  return {
    async charge(saga) {
      const res = await payments.processPayment(
        { orderId: saga.orderId, customerId: saga.customerId, amount: fromMinorUnits(saga.amountMinor) },
        timeoutMs,
      );
      if (res.success) return { kind: 'ok', paymentId: res.paymentId, detail: `charged, payment ${res.paymentId}` };
      return {
        kind: 'rejected',
        nonRetryable: true,
        reason: `payment ${res.status.toLowerCase() || 'declined'}: ${res.message}`,
      };
    },
    async refund(saga) {
      const res = await payments.refundPayment({ orderId: saga.orderId, reason: saga.reason ?? 'saga compensation' }, timeoutMs);
      return { kind: 'ok', detail: res.refunded ? `refunded payment ${res.paymentId}` : `nothing to refund (${res.status})` };
    },
  };
}
