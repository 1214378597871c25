import { AppError, ErrorCode, isTransient } from '@shopflow/platform/errors';
import type { PaymentClient } from '@shopflow/payment-client';

// No payment has this id: a NOT_FOUND answer proves the service is there and serving.
const PROBE_ID = 'gateway-readiness-probe';

/** Resolves when the payment service answers a GetPayment in time; rejects with a short reason otherwise. */
export async function probePayments(payments: PaymentClient, timeoutMs: number): Promise<void> {
  try {
    await payments.getPayment({ paymentId: PROBE_ID }, timeoutMs);
  } catch (error) {
    if (!isTransient(error)) return;
    const code = error instanceof AppError ? error.code : undefined;
    const reason = code === ErrorCode.DeadlineExceeded ? 'timed out' : code === ErrorCode.Unavailable ? 'unreachable' : 'failing';
    throw new Error(reason, { cause: error });
  }
}
