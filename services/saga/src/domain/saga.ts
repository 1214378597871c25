import { OrderStatus, SagaState, type TerminalOrderStatus } from '@shopflow/contracts';
import { backoffDelay } from '@shopflow/platform/retry';
import {
  ended,
  type ActionOutcome,
  type CompensatingSaga,
  type CompensationName,
  type EndedSaga,
  type LogEntry,
  type ParkedSaga,
  type RunningSaga,
  type Saga,
  type SagaPolicy,
  type StepName,
  type Transition,
  type UnwoundStatus,
} from './saga-state.js';
import { NothingToUndo, ORDER_SAGA } from './steps.js';

// The saga's rules. Its states and their shapes are in saga-state.ts, its steps in steps.ts.
export * from './saga-state.js';

function unchanged(saga: Saga): Transition {
  return { saga, log: [], commands: [] };
}

/** Ends the saga in `outcome`, commanding that status unless the order already ended. */
function finish(saga: Saga, outcome: TerminalOrderStatus, reason: string | null, now: number): Transition {
  const over = ended(saga, outcome, reason, now);
  return {
    saga: over,
    log: [{ action: 'saga', result: 'finished', detail: reason ? `${over.state}: ${reason}` : over.state }],
    commands: saga.orderEnded ? [] : [{ status: outcome, ...(reason ? { reason } : {}) }],
  };
}

/** Starts unwinding: compensations run next, and the saga ends in `outcome`. */
function compensate(
  saga: Saga,
  compensations: CompensationName[],
  outcome: UnwoundStatus,
  reason: string,
  now: number,
): Transition {
  const [first, ...rest] = dedupe(compensations);
  if (first === undefined) return finish(saga, outcome, reason, now);
  const unwinding: CompensatingSaga = {
    ...saga,
    state: SagaState.Compensating,
    action: first,
    compensations: rest,
    attempt: 0,
    actionSince: now,
    nextRunAt: now,
    outcome,
    parked: false,
    reason,
    updatedAt: now,
  };
  return { saga: unwinding, log: [{ action: first, result: 'compensating', detail: reason }], commands: [] };
}

function dedupe(list: CompensationName[]): CompensationName[] {
  return list.filter((c, i) => list.indexOf(c) === i);
}

/**
 * Compensations, newest first, of the steps done before `step` (all of them for null) and, when
 * `inDoubt`, of `step` itself: it may have taken effect. A step done for sure drops the
 * compensations it supersedes.
 */
function unwindFrom(step: StepName | null, inDoubt: boolean): CompensationName[] {
  const steps = ORDER_SAGA.steps;
  const at = step === null ? steps.length : steps.findIndex((s) => s.name === step);
  const done = steps.slice(0, at);
  const superseded = new Set(done.map((s) => s.supersedes));
  const undo = inDoubt ? steps.slice(0, at + 1) : done;
  return undo
    .map((s) => s.compensation.name)
    .reverse()
    .filter((c) => !superseded.has(c));
}

/**
 * The saga's rules: given its state and what its current action produced, the next state.
 * Pure, so the business process can be read (and tested) without any I/O.
 */
export function decide(
  saga: Saga,
  outcome: ActionOutcome,
  now: number,
  policy: SagaPolicy,
  jitter: () => number = Math.random,
): Transition {
  if (saga.state === SagaState.Running) return decideStep(saga, outcome, now, policy, jitter);
  if (saga.state === SagaState.Compensating) return decideCompensation(saga, outcome, now, policy, jitter);
  return unchanged(saga);
}

function decideStep(
  saga: RunningSaga,
  outcome: ActionOutcome,
  now: number,
  policy: SagaPolicy,
  jitter: () => number,
): Transition {
  const step = ORDER_SAGA.step(saga.action);
  if (outcome.kind === 'ok') {
    const log: LogEntry = { action: step.name, result: 'ok', detail: outcome.detail ?? null };
    const done: RunningSaga = { ...saga, paymentId: outcome.paymentId ?? saga.paymentId };
    const raised = step.raises.map((status) => ({ status }));
    const following = ORDER_SAGA.after(step.name);
    if (following === undefined) {
      const t = finish(done, OrderStatus.Completed, null, now);
      return { ...t, log: [log, ...t.log], commands: [...raised, ...t.commands] };
    }
    const moved: RunningSaga = { ...done, action: following, attempt: 0, actionSince: now, nextRunAt: now, updatedAt: now };
    return { saga: moved, log: [log], commands: raised };
  }

  if (outcome.kind === 'rejected') {
    // The step answered "no": it took no effect, so only the steps before it are undone.
    const t = compensate(saga, unwindFrom(step.name, false), step.ifRefused, outcome.reason, now);
    return { ...t, log: [{ action: step.name, result: 'rejected', detail: outcome.reason }, ...t.log] };
  }

  const attempt = saga.attempt + 1;
  if (outcome.transient && now - saga.actionSince < (step.timeoutMs ?? policy.stepTimeoutMs)) {
    return retry(saga, attempt, outcome.reason, now, policy, jitter);
  }
  // Timed out or broken: the step may or may not have taken effect, so its own compensation
  // runs too (compensations are idempotent and also fence off a late effect).
  const reason = outcome.transient
    ? `${step.name} timed out after ${attempt} attempts: ${outcome.reason}`
    : `${step.name} failed: ${outcome.reason}`;
  const t = compensate(saga, unwindFrom(step.name, true), OrderStatus.Failed, reason, now);
  return { ...t, log: [{ action: step.name, result: 'gave-up', detail: outcome.reason }, ...t.log] };
}

function decideCompensation(
  saga: CompensatingSaga,
  outcome: ActionOutcome,
  now: number,
  policy: SagaPolicy,
  jitter: () => number,
): Transition {
  const compensation = ORDER_SAGA.compensation(saga.action);
  const c = compensation.name;
  if (outcome.kind === 'ok') return unwindNext(saga, { action: c, result: 'ok', detail: outcome.detail ?? null }, now);

  if (outcome.kind === 'rejected' && compensation.ifRefused !== undefined) {
    const instead = compensation.ifRefused;
    if (instead === NothingToUndo) {
      return unwindNext(saga, { action: c, result: 'ok', detail: `nothing to undo: ${outcome.reason}` }, now);
    }
    const next: CompensatingSaga = {
      ...saga,
      action: instead,
      compensations: saga.compensations.filter((n) => n !== instead),
      attempt: 0,
      actionSince: now,
      nextRunAt: now,
      updatedAt: now,
    };
    return {
      saga: next,
      log: [
        { action: c, result: 'rejected', detail: outcome.reason },
        { action: instead, result: 'compensating', detail: `instead of ${c}` },
      ],
      commands: [],
    };
  }

  const timeoutMs = compensation.timeoutMs ?? policy.compensationTimeoutMs;
  if (outcome.kind === 'error' && outcome.transient && now - saga.actionSince < timeoutMs) {
    return retry(saga, saga.attempt + 1, outcome.reason, now, policy, jitter);
  }
  // A compensation that cannot succeed is parked for an operator (POST /sagas/:id/retry), never dropped.
  const t = finish(saga, OrderStatus.Failed, `compensation ${c} failed: ${outcome.reason}`, now);
  const parked: ParkedSaga = {
    ...t.saga,
    state: SagaState.Failed,
    outcome: OrderStatus.Failed,
    parked: true,
    action: c,
    compensations: saga.compensations,
  };
  return {
    saga: parked,
    log: [{ action: c, result: 'gave-up', detail: outcome.reason }, ...t.log.map((e) => ({ ...e, result: 'parked' as const }))],
    commands: t.commands,
  };
}

/** The compensation just logged is done: run the next one, or finish. */
function unwindNext(saga: CompensatingSaga, log: LogEntry, now: number): Transition {
  const [following, ...rest] = saga.compensations;
  if (following === undefined) {
    const t = finish(saga, saga.outcome, saga.reason, now);
    return { ...t, log: [log, ...t.log] };
  }
  const next: CompensatingSaga = {
    ...saga,
    action: following,
    compensations: rest,
    attempt: 0,
    actionSince: now,
    nextRunAt: now,
    updatedAt: now,
  };
  return { saga: next, log: [log], commands: [] };
}

function retry(
  saga: RunningSaga | CompensatingSaga,
  attempt: number,
  reason: string,
  now: number,
  policy: SagaPolicy,
  jitter: () => number,
): Transition {
  const wait = backoffDelay(policy.backoff, attempt, jitter);
  return {
    saga: { ...saga, attempt, nextRunAt: now + wait, updatedAt: now },
    log: [{ action: saga.action, result: 'retry', detail: `attempt ${attempt} failed (${reason}); next in ${wait} ms` }],
    commands: [],
  };
}

/**
 * The order ended outside the saga (cancelled or failed through the API). Whatever the saga did
 * or may be doing is undone; a saga that already completed is unwound too (refund, stock returned).
 * The order's own status is final, so an unwinding or unwound saga takes it as its outcome.
 */
export function abort(saga: Saga, status: TerminalOrderStatus, now: number): Transition {
  if (status === OrderStatus.Completed) return unchanged(saga); // only the saga completes an order
  const reason = `order ${status} outside the saga`;
  const aborted: LogEntry = { action: 'saga', result: 'aborted', detail: reason };
  switch (saga.state) {
    case SagaState.Running: {
      const t = compensate({ ...saga, orderEnded: true }, unwindFrom(saga.action, true), status, reason, now);
      return { ...t, log: [aborted, ...t.log] };
    }
    case SagaState.Completed: {
      const t = compensate({ ...saga, orderEnded: true }, unwindFrom(null, false), status, reason, now);
      return { ...t, log: [aborted, ...t.log] };
    }
    case SagaState.Compensating:
      if (saga.orderEnded && saga.outcome === status) return unchanged(saga);
      return { saga: { ...saga, orderEnded: true, outcome: status, updatedAt: now }, log: [aborted], commands: [] };
    case SagaState.Cancelled:
    case SagaState.Failed: {
      // Unwound already, under the other name (the saga's own FAILED or CANCELLED lost the race to the API's).
      if (saga.parked || saga.outcome === status) return unchanged(saga);
      const relabelled: EndedSaga =
        status === OrderStatus.Cancelled
          ? { ...saga, state: SagaState.Cancelled, outcome: status, updatedAt: now }
          : { ...saga, state: SagaState.Failed, outcome: status, updatedAt: now };
      return {
        saga: relabelled,
        log: [{ ...aborted, detail: `${reason}; already unwound` }],
        commands: [],
      };
    }
  }
}

/** An operator resumes a parked saga: its remaining compensations run again from now. */
export function resume(saga: Saga, now: number): Transition | undefined {
  if (!saga.parked) return undefined;
  const resumed: CompensatingSaga = {
    ...saga,
    state: SagaState.Compensating,
    parked: false,
    attempt: 0,
    actionSince: now,
    nextRunAt: now,
    updatedAt: now,
  };
  return { saga: resumed, log: [{ action: saga.action, result: 'resumed', detail: 'resumed by an operator' }], commands: [] };
}
