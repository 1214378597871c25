import { SERVICE_EVENTS } from '@shopflow/contracts';
import { envInt, envNumber } from '@shopflow/platform/config';
import { defineService } from '@shopflow/platform/service';
import { createPaymentApp } from './app.js';
import { migrations } from './db/migrations.js';
import { randomDecider } from './domain/payment.js';

/** The payment service: charges and refunds over gRPC, idempotent per order. */
export const paymentService = defineService({
  name: 'payment',
  migrations,
  publishes: SERVICE_EVENTS.payment.publishes,
  async build(ctx) {
    // The seed declines one charge in ten; read here so a bad value stops start-up.
    const successRate = envNumber('PAYMENT_SUCCESS_RATE', 0.9, { min: 0, max: 1 });
    ctx.logger.info({ successRate }, 'payment success rate');
    const httpPort = envInt('PAYMENT_HTTP_PORT', 8086, { min: 0, max: 65535 });
    return createPaymentApp(ctx, { decide: randomDecider(successRate), httpPort });
  },
});
