import { OrderStatus, SagaState, type OrderStatus as Status, type TerminalOrderStatus } from '@shopflow/contracts';
import { backoffDelay } from '@shopflow/platform/retry';
import type { SagaOrder } from './ports.js';
import { NothingToUndo, ORDER_SAGA, type CompensationName, type PortCall, type StepName, type UnwoundStatus } from './steps.js';

export type { CompensationName, StepName, UnwoundStatus } from './steps.js';
export type ActionName = StepName | CompensationName;

/** What every saga stores, whatever its state. Times are epoch milliseconds. */
interface SagaCommon extends SagaOrder {
  /** Attempts made at `action` so far. */
  attempt: number;
  /** When `action` became current: its deadline counts from here. */
  actionSince: number;
  /** Not before this time (backoff). */
  nextRunAt: number;
  /** True when the order already ended elsewhere (through the API, or by the saga's own command): no status command is sent. */
  orderEnded: boolean;
  paymentId: string | null;
  /** W3C trace context of the request that placed the order: every step of the saga joins that trace. */
  traceparent: string | null;
  /** The step log, oldest first. Kept on the saga's own row: one write per transition, no extra table. */
  steps: StepRecord[];
  version: number;
  createdAt: number;
  updatedAt: number;
}

/** Moving forward: `action` is the step to run next. */
export interface RunningSaga extends SagaCommon {
  state: typeof SagaState.Running;
  action: StepName;
  compensations: [];
  outcome: null;
  parked: false;
}

/** Unwinding: `action` is the compensation to run next, `compensations` those after it; it ends in `outcome`. */
export interface CompensatingSaga extends SagaCommon {
  state: typeof SagaState.Compensating;
  action: CompensationName;
  compensations: CompensationName[];
  outcome: UnwoundStatus;
  parked: false;
}

/** Over, with nothing left to run. */
export type EndedSaga = {
  [S in TerminalOrderStatus]: SagaCommon & {
    state: S;
    action: null;
    compensations: [];
    outcome: S;
    parked: false;
  };
}[TerminalOrderStatus];

/** FAILED because a compensation kept failing: `action` and `compensations` wait for an operator's retry. */
export interface ParkedSaga extends SagaCommon {
  state: typeof SagaState.Failed;
  action: CompensationName;
  compensations: CompensationName[];
  outcome: typeof OrderStatus.Failed;
  parked: true;
}

/** The durable state of one order's saga; `state` tells which fields mean what. */
export type Saga = RunningSaga | CompensatingSaga | EndedSaga | ParkedSaga;

/** What running one action produced. A rejection is a business answer and is never retried. */
export type ActionOutcome =
  | { kind: 'ok'; paymentId?: string; detail?: string }
  | { kind: 'rejected'; nonRetryable: true; reason: string }
  | { kind: 'error'; transient: boolean; reason: string };

/** Timeouts and retry limits; a table entry's own timeout takes precedence. */
export interface SagaPolicy {
  /** A forward step that has not succeeded this long after it started is given up and compensated. */
  stepTimeoutMs: number;
  /** A compensation that keeps failing this long parks the saga as FAILED. */
  compensationTimeoutMs: number;
  backoff: { baseMs: number; maxMs: number };
}

/** One line of the saga's step log. */
export interface LogEntry {
  action: string;
  result: 'ok' | 'rejected' | 'retry' | 'gave-up' | 'compensating' | 'parked' | 'aborted' | 'started' | 'resumed' | 'finished';
  detail: string | null;
}

/** A log entry with the time it was recorded (epoch ms). */
export interface StepRecord extends LogEntry {
  at: number;
}

/** The result of deciding: the next state, what to log and which order statuses to command. */
export interface Transition {
  saga: Saga;
  log: LogEntry[];
  commands: { status: Exclude<Status, 'PENDING'>; reason?: string }[];
}

export function isOver(saga: Pick<Saga, 'state'>): boolean {
  return saga.state === SagaState.Completed || saga.state === SagaState.Cancelled || saga.state === SagaState.Failed;
}

type NewOrder = Pick<Saga, 'orderId' | 'customerId' | 'productId' | 'quantity' | 'amountMinor'>;

function fresh(order: NewOrder, now: number, traceparent: string | null): Omit<SagaCommon, 'steps'> {
  return {
    ...order,
    attempt: 0,
    actionSince: now,
    nextRunAt: now,
    orderEnded: false,
    reason: null,
    paymentId: null,
    traceparent,
    version: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/** A new saga for a placed order: its first action is the table's first step. */
export function startSaga(order: NewOrder, now: number, traceparent: string | null = null): RunningSaga {
  return {
    ...fresh(order, now, traceparent),
    state: SagaState.Running,
    action: ORDER_SAGA.first,
    compensations: [],
    outcome: null,
    parked: false,
    steps: [{ at: now, action: 'saga', result: 'started', detail: null }],
  };
}

/** A saga recorded for an order that ended before its saga started: a late orders.created then starts nothing. */
export function endedBeforeStart(order: NewOrder, status: UnwoundStatus, now: number): EndedSaga {
  const reason = `order ${status} before its saga started`;
  return {
    ...ended({ ...fresh(order, now, null), steps: [] }, status, reason, now),
    steps: [
      { at: now, action: 'saga', result: 'started', detail: null },
      { at: now, action: 'saga', result: 'aborted', detail: reason },
    ],
  };
}

/** The call the saga's current action makes; undefined when there is none to run. */
export function currentCall(saga: Saga): PortCall | undefined {
  if (saga.state === SagaState.Running) return ORDER_SAGA.step(saga.action).call;
  if (saga.state === SagaState.Compensating) return ORDER_SAGA.compensation(saga.action).call;
  return undefined;
}

function unchanged(saga: Saga): Transition {
  return { saga, log: [], commands: [] };
}

function ended(saga: SagaCommon, outcome: TerminalOrderStatus, reason: string | null, now: number): EndedSaga {
  const base = { ...saga, action: null, compensations: [] as [], attempt: 0, nextRunAt: now, reason, orderEnded: true };
  const over = { parked: false as const, updatedAt: now };
  switch (outcome) {
    case OrderStatus.Completed:
      return { ...base, ...over, state: SagaState.Completed, outcome };
    case OrderStatus.Cancelled:
      return { ...base, ...over, state: SagaState.Cancelled, outcome };
    case OrderStatus.Failed:
      return { ...base, ...over, state: SagaState.Failed, outcome };
  }
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

/** The saga as it is to be stored after `t`: its log lines appended and its version advanced. */
export function afterTransition(before: Saga, t: Transition): Saga {
  const at = t.saga.updatedAt;
  return { ...t.saga, steps: [...t.saga.steps, ...t.log.map((e) => ({ ...e, at }))], version: before.version + 1 };
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
