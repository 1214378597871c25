export { connectMessaging, openMessaging, type Messaging } from './connection.js';
export { ensureStreams, DUPLICATE_WINDOW_MS, type StreamSpec } from './streams.js';
export { Outbox, type RelayOptions } from './outbox.js';
export { EventConsumer, pruneInbox, type ConsumerSpec, type ConsumerDeps, type EventHandler } from './consumer.js';
export { deadLetter, listDeadLetters, replayDeadLetter, DlqHeader, type DeadLetter } from './dlq.js';
export { messagingMigrations } from './schema.js';
