import { RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';

export interface StreamSpec {
  readonly name: string;
  readonly subjects: readonly string[];
}

/** How long JetStream drops a re-published Nats-Msg-Id; consumer inboxes keep ids far longer. */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;

/** Creates (or widens) the file-backed streams a service publishes to or consumes from. */
export async function ensureStreams(jsm: JetStreamManager, streams: readonly StreamSpec[]): Promise<void> {
  for (const spec of streams) {
    const config = {
      name: spec.name,
      subjects: [...spec.subjects],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      max_age: nanos(7 * 24 * 3600_000),
    };
    try {
      const info = await jsm.streams.info(spec.name);
      const missing = spec.subjects.filter((s) => !info.config.subjects?.includes(s));
      if (missing.length > 0) {
        await jsm.streams.update(spec.name, { subjects: [...(info.config.subjects ?? []), ...missing] });
      }
    } catch {
      try {
        await jsm.streams.add(config);
      } catch (error) {
        // A sibling service may have created it a moment ago; only a stream that still is not there is an error.
        await jsm.streams.info(spec.name).catch(() => {
          throw error;
        });
      }
    }
  }
}
