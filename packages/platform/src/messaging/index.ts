export { connectMessaging, openMessaging, type Messaging } from './connection.js';
export {
  ensureStreams,
  purgeAcknowledged,
  DUPLICATE_WINDOW_MS,
  STREAM_MAX_AGE_MS,
  StreamStorageError,
  type StreamSpec,
  type StreamLimits,
} from './streams.js';
export { StreamGuard, type StreamGuardOptions } from './stream-guard.js';
export { Outbox, type RelayOptions } from './outbox.js';
export { EventConsumer, pruneInbox, type ConsumerSpec, type ConsumerDeps, type EventHandler } from './consumer.js';
export {
  deadLetter,
  listDeadLetters,
  replayDeadLetter,
  replayDeadLetters,
  DlqHeader,
  type DeadLetter,
  type DeadLetterFilter,
} from './dlq.js';
export { messagingMigrations } from './schema.js';
