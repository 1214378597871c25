import { randomUUID } from 'node:crypto';
import { EventType, SagaState, Subject } from '@shopflow/contracts';
import type { Db } from '@shopflow/platform/db';
import { isInfrastructureFailure, isTransient } from '@shopflow/platform/errors';
import type { Logger } from '@shopflow/platform/logger';
import type { Outbox } from '@shopflow/platform/messaging';
import type { ServiceMetrics } from '@shopflow/platform/metrics';
import { contextFrom, inSpan, withOrder } from '@shopflow/platform/tracing';
import { sagaRepository as repo } from './db/saga-repository.js';
import type { PaymentPort, SagaPorts, StockPort } from './domain/ports.js';
import {
  afterTransition,
  currentCall,
  decide,
  isOver,
  type ActionOutcome,
  type Saga,
  type SagaPolicy,
  type Transition,
} from './domain/saga.js';

export interface RunnerDeps {
  db: Db;
  outbox: Outbox;
  stock: StockPort;
  payments: PaymentPort;
  policy: SagaPolicy;
  logger: Logger;
  /** Sagas driven at once; the rest wait their turn. */
  concurrency: number;
  metrics: ServiceMetrics;
  /**
   * How long this instance's ownership of its sagas outlives its last renewal; renewed (and
   * other instances' expired sagas taken over) every third of it.
   */
  leaseMs: number;
}

/**
 * Drives sagas: runs each one's current action, decides, and commits the new state together
 * with its step log and order-status commands (outbox) before taking the next action. Work
 * arrives by kick() — after a commit that created or changed a saga — and by timers for
 * backoff; nothing polls. A saga changed by someone else meanwhile (an abort) is re-read.
 *
 * Several runners may share one PostgreSQL database: each drives only the sagas it owns
 * (`sagas.owner`, its instanceId), under a lease it renews every third of `leaseMs`. On the same
 * timer it takes over the unfinished sagas of instances whose lease ran out; the takeover bumps
 * their version, so a stale owner's next commit fails and, re-reading, it lets them go. A step
 * the new owner repeats is harmless because every remote step is idempotent by order id.
 */
export class SagaRunner {
  /** This process's identity as an owner of sagas: new at every start. */
  readonly instanceId = randomUUID();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly queued = new Set<string>();
  private readonly queue: string[] = [];
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private readonly created = new Map<string, Saga>();
  private active = 0;
  private waiting = 0;
  private lastOutageLog = 0;
  private stopped = false;
  private leaseTimer: NodeJS.Timeout | undefined;
  private leaseRound: Promise<void> | undefined;
  private lastLeaseLog = 0;
  private drained: (() => void) | undefined;
  private readonly ports: SagaPorts;
  private readonly measure;

  constructor(private readonly deps: RunnerDeps) {
    this.ports = { stock: deps.stock, payments: deps.payments };
    const m = deps.metrics;
    this.measure = {
      steps: m.histogram('saga_step_duration_seconds', 'Saga steps and compensations run, by step and result', [
        'step',
        'result',
      ]),
      retries: m.counter('saga_step_retries_total', 'Saga steps run again after a failed attempt, by step', ['step']),
      outcomes: m.counter('saga_outcomes_total', 'Sagas ended, by outcome (PARKED: a compensation waits for an operator)', [
        'outcome',
      ]),
      takeovers: m.counter(
        'saga_takeovers_total',
        'Unfinished sagas this instance took over from an instance whose lease ran out (or from before owners)',
      ),
    };
  }

  /**
   * Runs the saga of `orderId` now, or at `at` (epoch ms) if that is later. The one who has just
   * created the saga may hand it over, which saves reading it back.
   */
  kick(orderId: string, created?: Saga, at = Date.now()): void {
    if (this.stopped) return;
    if (created) this.created.set(orderId, created);
    if (this.running.has(orderId)) {
      this.again.add(orderId);
      return;
    }
    const wait = at - Date.now();
    if (wait <= 0) return this.enqueue(orderId);
    clearTimeout(this.timers.get(orderId));
    this.timers.set(
      orderId,
      setTimeout(() => this.enqueue(orderId), wait),
    );
  }

  /**
   * Takes the lease, resumes every unfinished saga no live instance owns (after a crash nothing
   * stays stuck) and keeps the lease and that sweep going. Returns how many sagas it took.
   */
  async start(): Promise<number> {
    let taken = 0;
    try {
      await repo.renewLease(this.deps.db, this.instanceId, this.deps.leaseMs);
      // The rows of instances that crashed long ago; a missing owner row counts as expired anyway.
      await repo.pruneLeases(this.deps.db, 3600_000);
      // An SQLite file serves one instance (as the outbox assumes), so the one before this is gone:
      // its sagas are taken at once instead of after its lease.
      taken = await this.takeOver({ everyone: this.deps.db.dialect === 'sqlite' });
    } catch (error) {
      // The database went away since the migrations: the sweeps that follow try again.
      this.leaseFailed(error);
    }
    this.scheduleLease();
    return taken;
  }

  /**
   * Stops taking work, waits for the actions in flight to be recorded, then gives up the lease so
   * that another instance takes this one's unfinished sagas at its next sweep.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.leaseTimer);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    if (this.active > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    // A renewal in flight would otherwise write the lease back after the release.
    await this.leaseRound;
    try {
      await repo.releaseLease(this.deps.db, this.instanceId);
    } catch (error) {
      // The lease then runs out by itself: the others take over leaseMs later.
      this.deps.logger.warn({ err: error }, 'saga lease not released');
    }
  }

  /** Claims the sagas of instances whose lease ran out and runs them. */
  private async takeOver(options?: { everyone: boolean }): Promise<number> {
    const claimed = await repo.claimOrphans(this.deps.db, this.instanceId, options);
    for (const s of claimed) this.kick(s.order_id, undefined, Number(s.next_run_at));
    if (claimed.length > 0) this.measure.takeovers.inc(claimed.length);
    return claimed.length;
  }

  /** Every third of the lease: renew it (one statement for all sagas), then sweep for orphans. */
  private scheduleLease(): void {
    if (this.stopped) return;
    clearTimeout(this.leaseTimer);
    this.leaseTimer = setTimeout(() => {
      this.leaseRound = (async () => {
        try {
          await repo.renewLease(this.deps.db, this.instanceId, this.deps.leaseMs);
          if (this.stopped) return;
          const taken = await this.takeOver();
          if (taken > 0) this.deps.logger.info({ sagas: taken }, 'took over sagas whose owner lease ran out');
        } catch (error) {
          this.leaseFailed(error);
        }
        this.scheduleLease();
      })();
    }, this.deps.leaseMs / 3);
    this.leaseTimer.unref();
  }

  /** Once every ten seconds: a database outage fails every sweep. */
  private leaseFailed(error: unknown): void {
    const now = Date.now();
    if (now - this.lastLeaseLog < 10_000) return;
    this.lastLeaseLog = now;
    this.deps.logger.warn({ err: error }, 'saga lease renewal or sweep failed; retrying');
  }

  private enqueue(orderId: string): void {
    clearTimeout(this.timers.get(orderId));
    this.timers.delete(orderId);
    if (this.queued.has(orderId) || this.stopped) return;
    this.queued.add(orderId);
    this.queue.push(orderId);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.deps.concurrency && this.queue.length > 0) {
      const orderId = this.queue.shift()!;
      this.queued.delete(orderId);
      this.active++;
      this.running.add(orderId);
      void this.drive(orderId)
        .catch((error: unknown) => {
          // The state in the database is intact; try again shortly rather than leave the saga idle.
          this.reportFailure(orderId, error);
          this.timers.set(
            orderId,
            setTimeout(() => this.enqueue(orderId), 500 + Math.random() * 1000),
          );
        })
        .finally(() => {
          this.active--;
          this.running.delete(orderId);
          if (this.again.delete(orderId)) this.enqueue(orderId);
          if (this.stopped && this.active === 0) this.drained?.();
          this.pump();
        });
    }
  }

  /**
   * A database outage fails every saga at once: say so once every ten seconds with a count,
   * not once per saga per second. Any other failure is the saga's own and is logged with it.
   */
  private reportFailure(orderId: string, error: unknown): void {
    if (!isInfrastructureFailure(error)) {
      this.deps.logger.error({ err: error, order_id: orderId }, 'saga run failed; retrying');
      return;
    }
    this.waiting++;
    const now = Date.now();
    if (now - this.lastOutageLog < 10_000) return;
    this.deps.logger.warn({ err: error, sagas: this.waiting }, 'sagas wait for the database');
    this.lastOutageLog = now;
    this.waiting = 0;
  }

  private async drive(orderId: string): Promise<void> {
    // Every read asks for the saga as this instance's own: one taken over by another instance
    // (or changed by an abort another instance applied) reads as gone and is let go.
    const mine = { owner: this.instanceId };
    let saga = this.created.get(orderId) ?? (await repo.find(this.deps.db, orderId, mine));
    // True while `saga` is the runner's own copy from its last commit rather than a fresh read.
    let ownCopy = false;
    this.created.delete(orderId);
    while (saga && !isOver(saga) && !this.stopped) {
      if (saga.nextRunAt > Date.now()) {
        const at = saga.nextRunAt;
        this.timers.set(
          orderId,
          setTimeout(() => this.enqueue(orderId), at - Date.now()),
        );
        return;
      }
      const current: Saga = saga;
      // A forward step must not start after an API cancellation has committed: the runner's own
      // copy may be stale since its last commit, so it looks at the stored version first (a copy
      // just read is fresh, and a compensation is safe to run either way: it only undoes).
      if (ownCopy && current.state === SagaState.Running && (await repo.version(this.deps.db, orderId)) !== current.version) {
        saga = await repo.find(this.deps.db, orderId, mine);
        ownCopy = false;
        continue;
      }
      const { next, committed } = await this.step(current);
      if (committed) {
        saga = next;
        ownCopy = true;
        if (isOver(next)) this.measure.outcomes.inc({ outcome: next.parked ? 'PARKED' : next.state });
      } else {
        ownCopy = false;
        saga = await repo.find(this.deps.db, orderId, mine); // changed meanwhile: decide again from what is stored
      }
    }
  }

  /**
   * One action of a saga and the transition it leads to, committed, in a span under the one that
   * started the saga: every step joins the order's trace, after a restart too.
   */
  private step(current: Saga): Promise<{ next: Saga; committed: boolean }> {
    const action = current.action ?? 'none';
    const attributes = {
      'shopflow.order_id': current.orderId,
      'shopflow.saga.action': action,
      'shopflow.saga.attempt': current.attempt + 1,
    };
    const parent = contextFrom({ traceparent: current.traceparent ?? undefined });
    return withOrder(current.orderId, () =>
      inSpan(`saga ${action}`, { parent, attributes }, async (span) => {
        if (current.attempt > 0) this.measure.retries.inc({ step: action });
        const started = performance.now();
        const outcome = await this.perform(current);
        this.measure.steps.observe({ step: action, result: outcome.kind }, (performance.now() - started) / 1000);
        span.setAttribute('shopflow.saga.result', outcome.kind);
        const t = decide(current, outcome, Date.now(), this.deps.policy);
        const next = afterTransition(current, t);
        return { next, committed: await this.commit(current.version, next, t) };
      }),
    );
  }

  /** Runs the saga's current action as its table entry says; a thrown error becomes an outcome. */
  private async perform(saga: Saga): Promise<ActionOutcome> {
    const call = currentCall(saga);
    if (!call) return { kind: 'error', transient: false, reason: 'no action' };
    try {
      return await call(this.ports, saga);
    } catch (error) {
      return { kind: 'error', transient: isTransient(error), reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Commits a transition: the saga row (if still at `expectedVersion`), its log and its commands. */
  private commit(expectedVersion: number, saga: Saga, t: Transition): Promise<boolean> {
    const now = saga.updatedAt;
    return this.deps.db.transaction(async (tx) => {
      if (!(await repo.update(tx, saga, expectedVersion, this.instanceId))) return false;
      for (const command of t.commands) {
        await this.deps.outbox.enqueue(tx, Subject.OrderStatusCommand, {
          event_id: randomUUID(),
          event_type: EventType.OrderStatusRequested,
          order_id: saga.orderId,
          status: command.status,
          occurred_at: new Date(now).toISOString(),
          ...(command.reason ? { reason: command.reason } : {}),
        });
      }
      return true;
    });
  }
}
