import { Stream } from '@shopflow/contracts';
import { envNumber } from '@shopflow/platform/config';
import { listenAddress } from '@shopflow/platform/grpc';
import { runDataService } from '@shopflow/platform/service';
import { createPaymentApp } from './app.js';
import { migrations } from './db/migrations.js';
import { randomDecider } from './domain/payment.js';

runDataService({
  name: 'payment',
  migrations,
  streams: [Stream.Payments, Stream.DeadLetter],
  async start({ config, logger, db, messaging }) {
    // The seed declines one charge in ten; read here so a bad value stops start-up.
    const successRate = envNumber('PAYMENT_SUCCESS_RATE', 0.9, { min: 0, max: 1 });
    const app = createPaymentApp({ logger, db, messaging, decide: randomDecider(successRate) });
    // start() also starts the outbox relay, so committed payment events reach JetStream.
    const port = await app.start(listenAddress(config.host, config.port));
    logger.info({ port, successRate }, 'payment gRPC server listening');
    return () => app.stop();
  },
});
