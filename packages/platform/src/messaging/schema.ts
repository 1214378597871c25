import type { Migration } from '../db/types.js';

/** Tables every service that publishes or consumes events carries: the outbox and the inbox. */
export const messagingMigrations: readonly Migration[] = [
  {
    id: '000_messaging',
    sql: {
      postgres: `
        CREATE TABLE IF NOT EXISTS outbox (
          id BIGSERIAL PRIMARY KEY,
          event_id TEXT NOT NULL UNIQUE,
          subject TEXT NOT NULL,
          partition_key TEXT NOT NULL,
          payload TEXT NOT NULL,
          headers TEXT NOT NULL,
          created_at BIGINT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS outbox_partition_idx ON outbox (partition_key, id);
        CREATE TABLE IF NOT EXISTS inbox (
          event_id TEXT NOT NULL,
          consumer TEXT NOT NULL,
          received_at BIGINT NOT NULL,
          PRIMARY KEY (consumer, event_id)
        );
        CREATE INDEX IF NOT EXISTS inbox_received_idx ON inbox (received_at);`,
      sqlite: `
        -- A plain rowid (no AUTOINCREMENT, which costs a write to sqlite_sequence per insert): a new
        -- row always gets an id above every row still waiting, and the id is never a message id.
        CREATE TABLE IF NOT EXISTS outbox (
          id INTEGER PRIMARY KEY,
          event_id TEXT NOT NULL UNIQUE,
          subject TEXT NOT NULL,
          partition_key TEXT NOT NULL,
          payload TEXT NOT NULL,
          headers TEXT NOT NULL,
          created_at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS outbox_partition_idx ON outbox (partition_key, id);
        CREATE TABLE IF NOT EXISTS inbox (
          event_id TEXT NOT NULL,
          consumer TEXT NOT NULL,
          received_at INTEGER NOT NULL,
          PRIMARY KEY (consumer, event_id)
        );
        CREATE INDEX IF NOT EXISTS inbox_received_idx ON inbox (received_at);`,
    },
  },
];
