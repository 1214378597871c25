import { createHttpServer, httpListener, type HttpServer } from '@shopflow/platform/http';
import type { ServiceApp, ServiceContext } from '@shopflow/platform/service';
import { createDeadLetters } from './adapters/dead-letters.js';
import type { PaymentPort, StockPort } from './domain/ports.js';
import type { SagaPolicy } from './domain/saga.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { sagaRoutes } from './routes/sagas.js';
import { SagaRunner } from './runner.js';
import { createSagas, type Sagas } from './sagas.js';

/** The downstream services and the rules main wires from configuration; tests pass their own. */
export interface SagaAdapters {
  stock: StockPort;
  payments: PaymentPort;
  policy: SagaPolicy;
  /** Sagas driven at once. */
  concurrency: number;
  /** How long this instance's ownership of its sagas outlives a missed renewal (SAGA_LEASE_MS). */
  leaseMs: number;
}

export interface SagaApp extends ServiceApp {
  http: HttpServer;
  runner: SagaRunner;
  sagas: Sagas;
}

/**
 * Wires the saga orchestrator; `service.ts` runs it. On start it takes its lease and resumes every
 * unfinished saga that no live instance owns.
 * It also serves the DLQ to operators, over its own NATS connection.
 */
export async function createSagaApp(
  {
    logger,
    db,
    outbox,
    checks,
    messaging,
    metrics,
  }: Pick<ServiceContext, 'logger' | 'db' | 'outbox' | 'checks' | 'messaging' | 'metrics'>,
  { stock, payments, policy, concurrency, leaseMs }: SagaAdapters,
): Promise<SagaApp> {
  const runner = new SagaRunner({ db, outbox, stock, payments, policy, logger, concurrency, metrics, leaseMs });
  const sagas = createSagas(db, runner);
  const http = await createHttpServer({ service: 'saga', logger, checks, metrics });
  sagaRoutes(http, sagas);
  deadLetterRoutes(http, createDeadLetters(messaging));
  return {
    http,
    serves: httpListener(http),
    runner,
    sagas,
    async start() {
      const resumed = await runner.start();
      if (resumed > 0) logger.info({ resumed, instance: runner.instanceId }, 'resumed unfinished sagas');
    },
    stop: () => runner.stop(),
  };
}
