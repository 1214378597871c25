import { AckPolicy, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import { Stream } from '@shopflow/contracts';

export interface StreamSpec {
  readonly name: string;
  readonly subjects: readonly string[];
}

/** The size limit every stream gets (`NATS_STREAM_MAX_MB`). */
export interface StreamLimits {
  maxBytes: number;
}

/** How long JetStream drops a re-published Nats-Msg-Id; consumer inboxes keep ids far longer. */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;

/** How long a stream keeps an event, acknowledged or not, while it has room. */
export const STREAM_MAX_AGE_MS = 7 * 24 * 3600_000;

/**
 * Creates the file-backed streams a service publishes to or consumes from, or brings an existing
 * one to the current subjects and limits. A full stream refuses new events (DiscardNew): they
 * wait in the publisher's outbox, where nothing is lost, whereas DiscardOld would silently delete
 * the oldest events, which a lagging consumer may not have read yet.
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  streams: readonly StreamSpec[],
  limits: StreamLimits,
  logger?: Logger,
): Promise<void> {
  for (const spec of streams) {
    const info = await jsm.streams.info(spec.name).catch(() => undefined);
    if (!info) {
      await addStream(jsm, spec, limits);
      continue;
    }
    const subjects = info.config.subjects ?? [];
    const missing = spec.subjects.filter((s) => !subjects.includes(s));
    // Lowering max_bytes under what the stream holds makes the server delete its oldest events,
    // whatever the discard policy: keep what is there (and a margin for what arrives meanwhile)
    // until it has been consumed; a stream never grows past its current limit, so that caps it.
    const current = info.config.max_bytes > 0 ? info.config.max_bytes : Infinity;
    const maxBytes =
      limits.maxBytes >= current
        ? limits.maxBytes
        : Math.min(current, Math.max(limits.maxBytes, Math.ceil(info.state.bytes * 1.1)));
    if (maxBytes > limits.maxBytes) {
      logger?.warn(
        { stream: spec.name, bytes: info.state.bytes, maxBytes: limits.maxBytes },
        'stream holds more than NATS_STREAM_MAX_MB; its limit stays above it until its events are consumed',
      );
    }
    const maxAge = nanos(maxAgeOf(spec));
    if (
      missing.length === 0 &&
      info.config.max_bytes === maxBytes &&
      info.config.discard === DiscardPolicy.New &&
      info.config.max_age === maxAge
    )
      continue;
    try {
      await withStorageHint(spec.name, maxBytes, () =>
        jsm.streams.update(spec.name, {
          subjects: [...subjects, ...missing],
          max_bytes: maxBytes,
          discard: DiscardPolicy.New,
          max_age: maxAge,
        }),
      );
    } catch (error) {
      // A stream from before limits, too big to reserve: it keeps working as it was until consumed.
      if (!(error instanceof StreamStorageError) || maxBytes === limits.maxBytes || missing.length > 0) throw error;
      logger?.warn({ err: error, stream: spec.name }, 'stream keeps its old limits for now');
    }
  }
}

/** Events expire after 7 days; dead letters wait for an operator however long that takes. */
function maxAgeOf(spec: StreamSpec): number {
  return spec.name === Stream.DeadLetter.name ? 0 : STREAM_MAX_AGE_MS;
}

async function addStream(jsm: JetStreamManager, spec: StreamSpec, limits: StreamLimits): Promise<void> {
  try {
    await withStorageHint(spec.name, limits.maxBytes, () =>
      jsm.streams.add({
        name: spec.name,
        subjects: [...spec.subjects],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.New,
        max_bytes: limits.maxBytes,
        duplicate_window: nanos(DUPLICATE_WINDOW_MS),
        max_age: nanos(maxAgeOf(spec)),
      }),
    );
  } catch (error) {
    // A sibling service may have created it a moment ago; only a stream that still is not there is an error.
    await jsm.streams.info(spec.name).catch(() => {
      throw error;
    });
  }
}

/** NATS cannot reserve a stream's max_bytes within its storage cap; the message names both settings. */
export class StreamStorageError extends Error {
  override name = 'StreamStorageError';
}

/** The server reserves each stream's max_bytes against its own cap; say which two settings clash. */
async function withStorageHint<T>(stream: string, maxBytes: number, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof Error && /insufficient storage/i.test(error.message)) {
      throw new StreamStorageError(
        `NATS has no room to reserve ${maxBytes} bytes for stream ${stream}: lower NATS_STREAM_MAX_MB or raise the server's max_file_store (NATS_MAX_STORE_MB for npm start)`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Purges the events every acknowledging consumer of `stream` has acknowledged; returns how many
 * went. Events a consumer has not acknowledged, and a stream no such consumer reads, are left alone.
 */
export async function purgeAcknowledged(jsm: JetStreamManager, stream: string): Promise<number> {
  // Sampled before the consumers: anything published later has a higher sequence and is kept.
  const { state } = await jsm.streams.info(stream);
  if (state.consumer_count === 0 || state.messages === 0) return 0;
  let floor = state.last_seq;
  let acknowledging = false;
  for await (const c of jsm.consumers.list(stream)) {
    // A reader that never acknowledges (an ordered consumer, a tool) says nothing about what was consumed.
    if (c.config.ack_policy === AckPolicy.None) continue;
    acknowledging = true;
    // A filtered consumer's ack floor stays where its last matching event was; when it has
    // nothing outstanding, what it delivered (or the whole stream) is behind it.
    const done = c.num_ack_pending > 0 ? c.ack_floor.stream_seq : c.num_pending > 0 ? c.delivered.stream_seq : state.last_seq;
    floor = Math.min(floor, done);
  }
  if (!acknowledging || floor < state.first_seq) return 0;
  const { purged } = await jsm.streams.purge(stream, { seq: floor + 1 });
  return purged;
}
