import { Stream } from '@shopflow/contracts';
import { InfrastructureError } from '@shopflow/platform/errors';
import { listDeadLetters, replayDeadLetter, type DeadLetter, type Messaging } from '@shopflow/platform/messaging';

/** The DLQ stream as an operator sees it over HTTP: what `npm run dlq` does, without a NATS login of one's own. */
export interface DeadLetters {
  /** Up to `limit` dead letters, oldest first, and how many the stream holds. */
  list(limit: number): Promise<{ letters: DeadLetter[]; total: number }>;
  /** Publishes dead letter `seq` again on its subject and removes it; undefined when there is none. */
  replay(seq: number): Promise<DeadLetter | undefined>;
}

/**
 * Reads and replays dead letters over the orchestrator's own NATS connection. Its NATS user may
 * read and delete in the DLQ stream and publish the consumed subjects (see devkit's natsPermissions).
 * A NATS that is away, slow or refuses answers 503: the queue is there, just not reachable now.
 */
export function createDeadLetters(messaging: Messaging): DeadLetters {
  return {
    list: (limit) =>
      overNats(async () => {
        const info = await messaging.jsm.streams.info(Stream.DeadLetter.name).catch(() => undefined);
        const letters = await listDeadLetters(messaging.jsm, limit);
        return { letters, total: info?.state.messages ?? letters.length };
      }),
    replay: (seq) =>
      overNats(async () => {
        // Checked first: replayDeadLetter's own "none" is a plain Error, indistinguishable from a failure.
        const stored = await messaging.jsm.streams.getMessage(Stream.DeadLetter.name, { seq });
        if (!stored) return undefined;
        return replayDeadLetter(messaging.js, messaging.jsm, seq);
      }),
  };
}

async function overNats<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof InfrastructureError) throw error;
    throw new InfrastructureError('nats', (error as Error).message, error);
  }
}
