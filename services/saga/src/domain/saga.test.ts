import { describe, expect, it } from 'vitest';
import { OrderStatus, SagaState } from '@shopflow/contracts';
import {
  abort,
  currentCall,
  decide,
  endedBeforeStart,
  resume,
  startSaga,
  type ActionOutcome,
  type CompensatingSaga,
  type Saga,
  type SagaPolicy,
} from './saga.js';

const policy: SagaPolicy = { stepTimeoutMs: 10_000, compensationTimeoutMs: 60_000, backoff: { baseMs: 100, maxMs: 1000 } };
const ok: ActionOutcome = { kind: 'ok' };
const down: ActionOutcome = { kind: 'error', transient: true, reason: 'connection refused' };
const refused = (reason: string): ActionOutcome => ({ kind: 'rejected', nonRetryable: true, reason });
const t0 = 1_000_000;

function fresh(): Saga {
  return startSaga({ orderId: 'o1', customerId: 'c1', productId: 'p1', quantity: 2, amountMinor: 9999 }, t0);
}

/** Runs outcomes through decide, one per action, and returns the last transition plus every command sent. */
function run(saga: Saga, outcomes: ActionOutcome[], at = t0) {
  const commands: string[] = [];
  let current = saga;
  let last;
  for (const outcome of outcomes) {
    last = decide(current, outcome, at, policy, () => 0.5);
    commands.push(...last.commands.map((c) => c.status));
    current = last.saga;
  }
  return { saga: current, commands, last: last };
}

describe('order saga rules', () => {
  it('reserves, charges and commits to COMPLETED, confirming the order on the way', () => {
    const { saga, commands } = run(fresh(), [ok, { kind: 'ok', paymentId: 'pay-1' }, ok]);
    expect(saga.state).toBe(SagaState.Completed);
    expect(saga.paymentId).toBe('pay-1');
    expect(commands).toEqual([OrderStatus.Confirmed, OrderStatus.PaymentProcessing, OrderStatus.Completed]);
  });

  it('cancels without compensation when stock is short', () => {
    const { saga, commands } = run(fresh(), [{ kind: 'rejected', nonRetryable: true, reason: 'insufficient stock' }]);
    expect(saga.state).toBe(SagaState.Cancelled);
    expect(commands).toEqual([OrderStatus.Cancelled]);
  });

  it('releases the stock and cancels when the payment is declined', () => {
    const declined = run(fresh(), [ok, { kind: 'rejected', nonRetryable: true, reason: 'declined' }]);
    expect(declined.saga.state).toBe(SagaState.Compensating);
    expect(declined.saga.action).toBe('release-stock');
    const { saga, commands } = run(declined.saga, [ok]);
    expect(saga.state).toBe(SagaState.Cancelled);
    expect(saga.reason).toBe('declined');
    expect([...declined.commands, ...commands]).toEqual([
      OrderStatus.Confirmed,
      OrderStatus.PaymentProcessing,
      OrderStatus.Cancelled,
    ]);
  });

  it('retries a transient failure with growing, bounded backoff', () => {
    const first = decide(fresh(), down, t0, policy, () => 1);
    expect(first.saga.attempt).toBe(1);
    expect(first.saga.nextRunAt).toBe(t0 + 100);
    let saga = first.saga;
    for (let i = 0; i < 10; i++) saga = decide(saga, down, t0, policy, () => 1).saga;
    expect(saga.nextRunAt - t0).toBe(1000);
    expect(saga.state).toBe(SagaState.Running);
  });

  it('gives a charge up after its step timeout and refunds (voids) it and releases the stock', () => {
    const charging = run(fresh(), [ok]).saga;
    const late = decide(charging, down, t0 + policy.stepTimeoutMs, policy);
    expect(late.saga.state).toBe(SagaState.Compensating);
    expect([late.saga.action, ...late.saga.compensations]).toEqual(['refund-payment', 'release-stock']);
    const { saga, commands } = run(late.saga, [ok, ok]);
    expect(saga.state).toBe(SagaState.Failed);
    expect(commands).toEqual([OrderStatus.Failed]);
  });

  it('treats a non-transient error as final at once', () => {
    const t = decide(fresh(), { kind: 'error', transient: false, reason: '400 bad request' }, t0, policy);
    expect(t.saga.state).toBe(SagaState.Compensating);
    expect(t.saga.action).toBe('release-stock');
  });

  it('parks a saga whose compensation keeps failing, and an operator can resume it', () => {
    const compensating = run(fresh(), [ok, { kind: 'rejected', nonRetryable: true, reason: 'declined' }]).saga;
    const retried = decide(compensating, down, t0 + 1000, policy);
    expect(retried.saga.state).toBe(SagaState.Compensating);
    const parked = decide(retried.saga, down, t0 + policy.compensationTimeoutMs, policy);
    expect(parked.saga.state).toBe(SagaState.Failed);
    expect(parked.saga.parked).toBe(true);
    expect(parked.saga.reason).toMatch(/compensation release-stock failed/);
    expect(parked.commands.map((c) => c.status)).toEqual([OrderStatus.Failed]);

    const resumed = resume(parked.saga, t0 + 2 * policy.compensationTimeoutMs)!;
    expect(resumed.saga.state).toBe(SagaState.Compensating);
    const done = decide(resumed.saga, ok, t0 + 2 * policy.compensationTimeoutMs, policy);
    expect(done.saga.state).toBe(SagaState.Failed);
    expect(done.saga.parked).toBe(false);
    expect(done.commands).toEqual([]); // the order was told FAILED when the saga was parked
  });

  it('unwinds everything, the step in flight included, when the order is cancelled outside the saga', () => {
    const charging = run(fresh(), [ok]).saga;
    const aborted = abort(charging, OrderStatus.Cancelled, t0);
    expect([aborted.saga.action, ...aborted.saga.compensations]).toEqual(['refund-payment', 'release-stock']);
    const { saga, commands } = run(aborted.saga, [ok, ok]);
    expect(saga.state).toBe(SagaState.Cancelled);
    expect(commands).toEqual([]); // the order already ended
  });

  it('unwinds a completed saga whose order was cancelled in the race, and ignores its own outcomes', () => {
    const completed = run(fresh(), [ok, ok, ok]).saga;
    expect(abort(completed, OrderStatus.Completed, t0).log).toEqual([]);
    const aborted = abort(completed, OrderStatus.Cancelled, t0);
    expect(aborted.saga.state).toBe(SagaState.Compensating);
    const cancelled = run(fresh(), [{ kind: 'rejected', nonRetryable: true, reason: 'no stock' }]).saga;
    expect(abort(cancelled, OrderStatus.Cancelled, t0).log).toEqual([]);
  });

  it("takes the order's own ending as its outcome when the API ended the order first", () => {
    const charging = run(fresh(), [ok]).saga;
    const gaveUp = decide(charging, down, t0 + policy.stepTimeoutMs, policy).saga; // compensating towards FAILED
    const aborted = abort(gaveUp, OrderStatus.Cancelled, t0 + policy.stepTimeoutMs);
    const { saga, commands } = run(aborted.saga, [ok, ok]);
    expect(saga.state).toBe(SagaState.Cancelled);
    expect(commands).toEqual([]);

    // The saga finished FAILED (its command lost the race): it is relabelled, nothing is redone.
    const failed = run(gaveUp, [ok, ok]).saga;
    expect(failed.state).toBe(SagaState.Failed);
    const relabelled = abort(failed, OrderStatus.Cancelled, t0);
    expect(relabelled.saga).toMatchObject({ state: SagaState.Cancelled, action: null });
    expect(relabelled.commands).toEqual([]);
    expect(abort(relabelled.saga, OrderStatus.Cancelled, t0).log).toEqual([]);
  });

  it('changes nothing once the saga is over', () => {
    const done = run(fresh(), [ok, ok, ok]).saga;
    expect(decide(done, down, t0, policy)).toEqual({ saga: done, log: [], commands: [] });
  });

  it('refuses a commit as a fault: refunds and releases, and the order FAILS', () => {
    const { saga, commands } = run(fresh(), [ok, ok, refused('the reservation is RELEASED')]);
    expect(saga.state).toBe(SagaState.Compensating);
    expect([saga.action, ...saga.compensations]).toEqual(['refund-payment', 'release-stock']);
    const done = run(saga, [ok, ok]);
    expect(done.saga.state).toBe(SagaState.Failed);
    expect([...commands, ...done.commands]).toEqual([OrderStatus.Confirmed, OrderStatus.PaymentProcessing, OrderStatus.Failed]);
  });

  it('returns the stock of a commit in doubt first, then refunds and releases', () => {
    const committing = run(fresh(), [ok, ok]).saga;
    const late = decide(committing, down, t0 + policy.stepTimeoutMs, policy);
    expect([late.saga.action, ...late.saga.compensations]).toEqual(['return-stock', 'refund-payment', 'release-stock']);
    // The commit never took effect: nothing was sold, so the return is moot and release-stock frees the reservation.
    const notSold = decide(late.saga, refused('cannot return a RESERVED reservation'), t0, policy);
    expect(notSold.saga).toMatchObject({ state: SagaState.Compensating, action: 'refund-payment' });
    expect(notSold.log).toEqual([
      { action: 'return-stock', result: 'ok', detail: 'nothing to undo: cannot return a RESERVED reservation' },
    ]);
    const { saga, commands } = run(notSold.saga, [ok, ok]);
    expect(saga).toMatchObject({ state: SagaState.Failed, parked: false });
    expect(commands).toEqual([OrderStatus.Failed]);
  });

  it('gives sold stock back when a release is refused because a late commit landed', () => {
    const committing = run(fresh(), [ok, ok]).saga;
    const late = decide(committing, down, t0 + policy.stepTimeoutMs, policy).saga;
    const releasing = run(late, [refused('nothing sold yet'), ok]).saga;
    expect(releasing.action).toBe('release-stock');
    const sold = decide(releasing, refused('the reservation is COMMITTED: undo it with return, not release'), t0, policy);
    expect(sold.saga).toMatchObject({ state: SagaState.Compensating, action: 'return-stock', compensations: [] });
    expect(sold.log.map((e) => `${e.action}:${e.result}`)).toEqual(['release-stock:rejected', 'return-stock:compensating']);
    const { saga } = run(sold.saga, [ok]);
    expect(saga).toMatchObject({ state: SagaState.Failed, parked: false });
  });

  it('takes a saga stored by the previous version as is: its release after a commit is refused and return-stock follows', () => {
    // The previous version unwound a commit in doubt with [release-stock, refund-payment] and let the
    // adapter turn the refused release into a return.
    const committing = run(fresh(), [ok, ok]).saga;
    if (committing.state !== SagaState.Running) throw new Error(`expected a running saga, not ${committing.state}`);
    const stored: CompensatingSaga = {
      ...committing,
      state: SagaState.Compensating,
      action: 'release-stock',
      compensations: ['refund-payment'],
      outcome: OrderStatus.Failed,
      reason: 'commit-stock timed out',
    };
    const refusedRelease = decide(stored, refused('the reservation is COMMITTED'), t0, policy);
    expect([refusedRelease.saga.action, ...refusedRelease.saga.compensations]).toEqual(['return-stock', 'refund-payment']);
    const { saga, commands } = run(refusedRelease.saga, [ok, ok]);
    expect(saga).toMatchObject({ state: SagaState.Failed, parked: false, action: null });
    expect(commands).toEqual([OrderStatus.Failed]);
  });

  it('parks a compensation whose refusal the table gives no meaning', () => {
    const refunding = decide(run(fresh(), [ok]).saga, down, t0 + policy.stepTimeoutMs, policy).saga;
    expect(refunding.action).toBe('refund-payment');
    const parked = decide(refunding, refused('no'), t0, policy);
    expect(parked.saga).toMatchObject({
      state: SagaState.Failed,
      parked: true,
      action: 'refund-payment',
      compensations: ['release-stock'],
    });
    expect(parked.log.map((e) => e.result)).toEqual(['gave-up', 'parked']);
  });

  it('unwinds a completed saga with return-stock and a refund, not a release of sold stock', () => {
    const completed = run(fresh(), [ok, { kind: 'ok', paymentId: 'pay-1' }, ok]).saga;
    const aborted = abort(completed, OrderStatus.Cancelled, t0);
    expect(aborted.saga).toMatchObject({ state: SagaState.Compensating, outcome: OrderStatus.Cancelled, orderEnded: true });
    expect([aborted.saga.action, ...aborted.saga.compensations]).toEqual(['return-stock', 'refund-payment']);
    const { saga, commands } = run(aborted.saga, [ok, ok]);
    expect(saga).toMatchObject({ state: SagaState.Cancelled, paymentId: 'pay-1' });
    expect(commands).toEqual([]);
  });

  it('keeps each state to its own shape, and runs only a running or compensating action', () => {
    const running = fresh();
    expect(running).toMatchObject({ state: SagaState.Running, action: 'reserve-stock', compensations: [], outcome: null });
    expect(currentCall(running)).toBeTypeOf('function');
    const done = run(fresh(), [ok, ok, ok]).saga;
    expect(done).toMatchObject({ state: SagaState.Completed, action: null, compensations: [], outcome: OrderStatus.Completed });
    expect(currentCall(done)).toBeUndefined();
    const cancelled = decide(decide(fresh(), refused('short'), t0, policy).saga, down, t0, policy).saga;
    expect(cancelled).toMatchObject({ state: SagaState.Cancelled, action: null, outcome: OrderStatus.Cancelled });
    const early = endedBeforeStart({ orderId: 'o2', customerId: 'c', productId: 'p', quantity: 1, amountMinor: 5 }, 'FAILED', t0);
    expect(early).toMatchObject({ state: SagaState.Failed, outcome: OrderStatus.Failed, orderEnded: true, action: null });
    expect(early.steps.map((s) => s.result)).toEqual(['started', 'aborted']);
    expect(abort(early, OrderStatus.Failed, t0).log).toEqual([]);
    expect(abort(early, OrderStatus.Cancelled, t0).saga).toMatchObject({
      state: SagaState.Cancelled,
      outcome: OrderStatus.Cancelled,
    });
  });
});
