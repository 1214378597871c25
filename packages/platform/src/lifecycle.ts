import type { Logger } from 'pino';

/** Something that takes requests on a port: an HTTP server, a gRPC server. */
export interface Listener {
  /** Binds `host:port` (port 0 picks one) and resolves to the address clients use. */
  listen(host: string, port: number): Promise<string>;
  /** Stops taking requests and lets those in flight finish. */
  close(): Promise<void>;
}

type Hook = { name: string; close: () => Promise<void> | void };

/** Closes what a process opened, in reverse order, on SIGTERM/SIGINT or when asked. */
export interface Shutdown {
  /** Registers something to close; later registrations close first. */
  add(name: string, close: () => Promise<void> | void): void;
  /** Closes everything (once) and resolves when done or when the timeout passes. */
  run(reason: string): Promise<void>;
}

export function createShutdown(logger: Logger, timeoutMs: number): Shutdown {
  const hooks: Hook[] = [];
  let running: Promise<void> | undefined;

  const run = (reason: string): Promise<void> => {
    running ??= (async () => {
      logger.info({ reason }, 'shutting down');
      const timer = setTimeout(() => {
        logger.error({ timeoutMs }, 'shutdown timed out; exiting');
        process.exit(1);
      }, timeoutMs);
      timer.unref();
      for (const hook of hooks.reverse()) {
        try {
          await hook.close();
        } catch (error) {
          logger.warn({ err: error, hook: hook.name }, 'error while closing');
        }
      }
      clearTimeout(timer);
      logger.info('stopped');
    })();
    return running;
  };
  return { add: (name, close) => void hooks.push({ name, close }), run };
}

/**
 * The process edge: runs `start`, wires signals to a graceful shutdown and exits non-zero
 * when start-up fails or something escapes every handler.
 */
export function runService(logger: Logger, timeoutMs: number, start: (shutdown: Shutdown) => Promise<void>): void {
  const shutdown = createShutdown(logger, timeoutMs);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void shutdown.run(signal).then(() => process.exit(0)));
  }
  if (process.env.SHOPFLOW_SUPERVISED === '1') {
    // The supervisor holds our stdin open: when it dies, even by SIGKILL, stdin ends and we stop
    // instead of lingering on our port. At once and without a word: our stdout went with the
    // supervisor, and a crash loses nothing here (commits are durable, unacked events come back).
    process.stdin.on('end', () => process.exit(0));
    process.stdin.resume();
  }
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    logger.fatal({ err: error }, 'unhandled rejection');
    process.exit(1);
  });
  start(shutdown).catch((error: unknown) => {
    logger.fatal({ err: error }, 'start-up failed');
    void shutdown.run('start-up failed').finally(() => process.exit(1));
  });
}
