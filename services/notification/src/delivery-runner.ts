import type { Attributes } from '@opentelemetry/api';
import { SpanKind, contextFrom, inSpan, withOrder } from '@shopflow/platform/tracing';
import { DeliveryStatus } from '@shopflow/contracts';
import type { Db } from '@shopflow/platform/db';
import type { Logger } from '@shopflow/platform/logger';
import { backoffDelay, delay } from '@shopflow/platform/retry';
import { notificationsRepository as repo } from './db/notifications-repository.js';
import { afterAttempt, afterLapsedClaim, type DeliveryChange, type DeliveryPolicy, type SendOutcome } from './domain/delivery.js';
import type { Notification } from './domain/notification.js';
import type { NotificationSender } from './domain/ports.js';

export interface DeliveryRunnerDeps {
  db: Db;
  sender: NotificationSender;
  logger: Logger;
  policy: DeliveryPolicy;
  /** Notifications claimed and sent at once. */
  concurrency: number;
  /** How often an idle runner looks for work that no notify() announced. */
  sweepMs: number;
}

// Backoff of the loop itself while the database fails.
const OUTAGE_BACKOFF = { baseMs: 200, maxMs: 5000 };

/**
 * Sends recorded notifications, each at most once. Work arrives by notify(), after a commit
 * that recorded one, and by a timer set for the earliest retry or claim that falls due (plus a
 * slow sweep for what another instance or an operator left); nothing polls the table in a loop.
 *
 * Each attempt is claimed durably before it is made: the row turns SENDING with a lease, in a
 * committed transaction, and only then is the sender called; its outcome is recorded after. A
 * process that dies in between leaves the row SENDING, and once the lease runs out it turns
 * UNKNOWN (or PENDING again for a sender that may repeat itself): email is never sent twice.
 */
export class DeliveryRunner {
  private dirty = true;
  private stopped = true;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly deps: DeliveryRunnerDeps) {}

  /** Something was committed: look for due notifications now. */
  readonly notify = (): void => {
    this.dirty = true;
    this.wake?.();
  };

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Claims nothing more and waits until the attempts in flight are recorded; what is left stays in the database. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopping.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let nextDue: number | undefined;
    while (!this.stopped) {
      if (!this.dirty) await this.idle(nextDue);
      if (this.stopped) break;
      this.dirty = false;
      try {
        // A full round may have left more behind; otherwise sleep until the earliest due time.
        if ((await this.round()) === this.deps.concurrency) this.dirty = true;
        else nextDue = await repo.nextDue(this.deps.db);
        failures = 0;
      } catch (error) {
        failures++;
        this.dirty = true;
        const wait = backoffDelay(OUTAGE_BACKOFF, failures);
        if (failures === 1 || failures % 20 === 0) {
          this.deps.logger.warn(
            { err: error, failures, retryInMs: wait },
            'notification sender cannot reach its database; will retry',
          );
        }
        await delay(wait, this.stopping.signal).catch(() => undefined);
      }
    }
  }

  /** Waits for notify(), the earliest due time, the sweep, or stop(). */
  private idle(nextDue: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const wait = Math.min(this.deps.sweepMs, nextDue === undefined ? Infinity : Math.max(0, nextDue - Date.now()));
      const timer = setTimeout(() => {
        this.dirty = true;
        done();
      }, wait);
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
    });
  }

  /**
   * One round: claims up to `concurrency` due notifications in one transaction, sends them side
   * by side, and records each outcome as it comes. Claims that ran out are resolved on the way.
   * Returns how many due rows it found.
   */
  private async round(): Promise<number> {
    const { db, policy } = this.deps;
    const now = Date.now();
    const due = await repo.due(db, now, this.deps.concurrency);
    const lapsed = due.filter((n) => n.delivery.status === DeliveryStatus.Sending);
    for (const n of lapsed)
      await inTraceOf(n, 'resolve lapsed notification claim', SpanKind.INTERNAL, {}, () => this.lapse(n, now));
    const pending = due.filter((n) => n.delivery.status === DeliveryStatus.Pending);
    if (pending.length === 0 || this.stopped) return due.length;
    // Committed before any send starts: from here on, a crash cannot lead to a second send.
    const claimed = await db.transaction(async (tx) => {
      const mine: { n: Notification; attempt: number }[] = [];
      for (const n of pending) {
        const attempt = await repo.claim(tx, n.id, now, now + policy.leaseMs);
        if (attempt !== undefined) mine.push({ n, attempt });
      }
      return mine;
    });
    await Promise.all(claimed.map(({ n, attempt }) => this.attempt(n, attempt)));
    return due.length;
  }

  /** One send and its recorded outcome, in a span under the event that made the notification. */
  private attempt(n: Notification, attempt: number): Promise<void> {
    return inTraceOf(n, `send notification ${n.channel}`, SpanKind.CLIENT, { 'shopflow.attempt': attempt }, async () => {
      let outcome: SendOutcome;
      try {
        outcome = await this.deps.sender.send(n);
      } catch (error) {
        // A sender reports failures as outcomes; one that throws cannot say how far it got.
        outcome = { kind: 'unknown', reason: error instanceof Error ? error.message : String(error) };
      }
      const change = afterAttempt(attempt, outcome, Date.now(), this.deps.policy);
      if (await this.record(n, attempt, change)) this.report(n, attempt, change);
    });
  }

  /**
   * Records an outcome, retrying while the database fails: the outcome exists only in memory
   * until then. Gives up when a try fails after stop(); the claim then runs out as after a crash.
   */
  private async record(n: Notification, attempt: number, change: DeliveryChange): Promise<boolean> {
    for (let failures = 1; ; failures++) {
      try {
        const settled = await this.deps.db.transaction((tx) => repo.settle(tx, n.id, attempt, change));
        if (!settled) {
          this.deps.logger.warn(
            { notification_id: n.id, order_id: n.orderId, attempt, outcome: change.status },
            'notification changed while it was being sent (its claim ran out); its outcome was not recorded',
          );
        }
        return settled;
      } catch (error) {
        const giveUp = this.stopped;
        if (giveUp || failures === 1 || failures % 20 === 0) {
          this.deps.logger.error(
            { err: error, notification_id: n.id, order_id: n.orderId, attempt, outcome: change.status, failures },
            giveUp
              ? 'could not record how a notification send ended; it will turn UNKNOWN when its claim runs out'
              : 'cannot record how a notification send ended; will retry',
          );
        }
        if (giveUp) return false;
        // Cut short by stop(), which leaves one last try.
        await delay(backoffDelay(OUTAGE_BACKOFF, failures), this.stopping.signal).catch(() => undefined);
      }
    }
  }

  /** Resolves a claim that ran out: its sender died or stalled before recording the attempt. */
  private async lapse(n: Notification, now: number): Promise<void> {
    const change = afterLapsedClaim(this.deps.sender.repeatable, now);
    if (!(await repo.lapse(this.deps.db, n.id, now, change))) return;
    const fields = { notification_id: n.id, order_id: n.orderId, customer_id: n.customerId, attempts: n.delivery.attempts };
    if (change.status === DeliveryStatus.Unknown) {
      this.deps.logger.error(
        { ...fields, delivery_status: change.status },
        'notification send was interrupted and may or may not have gone out; parked as UNKNOWN, not sent again: needs an operator',
      );
    } else {
      this.deps.logger.warn({ ...fields, delivery_status: change.status }, 'notification send was interrupted; trying again');
    }
  }

  private report(n: Notification, attempt: number, change: DeliveryChange): void {
    const fields = {
      notification_id: n.id,
      order_id: n.orderId,
      customer_id: n.customerId,
      attempts: attempt,
      delivery_status: change.status,
    };
    switch (change.status) {
      case DeliveryStatus.Sent:
        return;
      case DeliveryStatus.Pending:
        this.deps.logger.warn(
          { ...fields, reason: change.lastError, retry_in_ms: change.dueAt - Date.now() },
          'notification not sent; will retry',
        );
        return;
      case DeliveryStatus.Failed:
        this.deps.logger.error({ ...fields, reason: change.lastError }, 'notification not sent; parked as FAILED');
        return;
      case DeliveryStatus.Unknown:
        this.deps.logger.error(
          { ...fields, reason: change.lastError },
          'notification send ended without telling whether it went out; parked as UNKNOWN, not sent again: needs an operator',
        );
    }
  }
}

/** Runs `fn` in a span under the event that made `n`, with its order named in every log line. */
function inTraceOf<T>(n: Notification, name: string, kind: SpanKind, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  const parent = contextFrom({ traceparent: n.traceparent ?? undefined });
  const all = { ...attributes, 'shopflow.order_id': n.orderId, 'shopflow.notification.channel': n.channel };
  return withOrder(n.orderId, () => inSpan(name, { kind, parent, attributes: all }, fn));
}
