import { Type, type Static } from '@sinclair/typebox';
import { Role } from '@shopflow/contracts/api';
import type { Payment } from '@shopflow/contracts/payment-grpc';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import type { PaymentClient } from '@shopflow/payment-client';
import { notFound, problemResponses, type HttpServer } from '@shopflow/platform/http';

const PaymentParams = Type.Object({ payment_id: Type.String({ minLength: 1, maxLength: 128 }) });

const PaymentView = Type.Object(
  {
    id: Type.String(),
    order_id: Type.String(),
    customer_id: Type.String(),
    amount: Type.Number(),
    status: Type.String({ description: 'SUCCESS, FAILED, REFUNDED or VOIDED' }),
    created_at: Type.String({ description: 'RFC 3339' }),
    updated_at: Type.String({ description: 'RFC 3339' }),
  },
  { $id: 'Payment' },
);
type PaymentView = Static<typeof PaymentView>;

function toView(p: Payment): PaymentView {
  return {
    id: p.id,
    order_id: p.orderId,
    customer_id: p.customerId,
    amount: p.amount,
    status: p.status,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

/**
 * GET /payments/:payment_id, answered from the payment service over gRPC. A customer reads only
 * its own payments: anyone else's answers 404, as an unknown one does, so that ids do not leak.
 */
export function paymentRoutes(app: HttpServer, payments: PaymentClient, timeoutMs: number): void {
  app.addSchema(PaymentView);

  app.get(
    '/payments/:payment_id',
    {
      config: { access: 'customer' },
      schema: {
        summary: 'Get a payment',
        tags: ['payment'],
        security: [{ bearer: [] }],
        params: PaymentParams,
        response: { 200: Type.Ref(PaymentView), ...problemResponses(400, 401, 404, 429, 500, 503, 504) },
      },
    },
    async (request) => {
      const id = request.params.payment_id;
      let payment: Payment;
      try {
        // The payment service checks ownership too (defence in depth); the check below stays.
        payment = await payments.getPayment({ paymentId: id }, timeoutMs, request.principal);
      } catch (error) {
        // The client's message names the RPC; the public 404 names only the payment.
        if (error instanceof AppError && error.code === ErrorCode.NotFound) notFound('payment', id);
        throw error;
      }
      const caller = request.principal;
      if (caller?.role !== Role.Admin && payment.customerId !== caller?.subject) notFound('payment', id);
      return toView(payment);
    },
  );
}
