import type { Migration } from '@shopflow/platform/db';

export const migrations: readonly Migration[] = [
  {
    id: '001_sagas',
    // Portable: SQLite takes BIGINT as an integer column.
    sql: `
        CREATE TABLE IF NOT EXISTS sagas (
          order_id TEXT PRIMARY KEY,
          customer_id TEXT NOT NULL,
          product_id TEXT NOT NULL,
          quantity INTEGER NOT NULL,
          amount_minor BIGINT NOT NULL,
          state TEXT NOT NULL,
          action TEXT,
          attempt INTEGER NOT NULL,
          action_since BIGINT NOT NULL,
          next_run_at BIGINT NOT NULL,
          compensations TEXT NOT NULL,
          outcome TEXT,
          order_ended INTEGER NOT NULL,
          parked INTEGER NOT NULL,
          reason TEXT,
          payment_id TEXT,
          traceparent TEXT,
          steps TEXT NOT NULL,
          version INTEGER NOT NULL,
          created_at BIGINT NOT NULL,
          updated_at BIGINT NOT NULL
        );
        -- Partial: only unfinished sagas (what a restart resumes) are indexed, so finishing a saga
        -- does not rewrite an index on every step.
        CREATE INDEX IF NOT EXISTS sagas_unfinished_idx ON sagas (state) WHERE state IN ('RUNNING', 'COMPENSATING');`,
  },
  {
    id: '002_saga_list_indexes',
    // The list pages by creation, a column no step rewrites, so these cost one entry per saga.
    // Parked sagas, the ones an operator looks for, get a partial index of their own.
    sql: `
      CREATE INDEX IF NOT EXISTS sagas_page_idx ON sagas (created_at, order_id);
      CREATE INDEX IF NOT EXISTS sagas_parked_page_idx ON sagas (created_at, order_id) WHERE parked = 1;`,
  },
  {
    id: '003_saga_owners',
    // Which orchestrator instance drives a saga, and how long each instance's lease runs: several
    // instances on one PostgreSQL database drive disjoint sets of sagas (see SagaRunner). A saga
    // stored before this has no owner and is taken by the first sweep.
    sql: `
      CREATE TABLE IF NOT EXISTS saga_instances (
        id TEXT PRIMARY KEY,
        lease_until BIGINT NOT NULL
      );
      ALTER TABLE sagas ADD COLUMN owner TEXT;`,
  },
];
