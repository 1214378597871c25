import { OrderStatus, SagaState, type TerminalOrderStatus } from '@shopflow/contracts';
import { backoffDelay } from '@shopflow/platform/retry';

/** Forward steps of the order saga, in order. */
export const Step = {
  ReserveStock: 'reserve-stock',
  ChargePayment: 'charge-payment',
  CommitStock: 'commit-stock',
} as const;
export type Step = (typeof Step)[keyof typeof Step];

/** Compensations. Releasing stock undoes a reservation or, after commit-stock, returns sold stock. */
export const Compensation = {
  ReleaseStock: 'release-stock',
  RefundPayment: 'refund-payment',
} as const;
export type Compensation = (typeof Compensation)[keyof typeof Compensation];
export type Action = Step | Compensation;

const FORWARD: readonly Step[] = [Step.ReserveStock, Step.ChargePayment, Step.CommitStock];

/** What undoes each forward step (recorded when the step succeeds, unwound in reverse). */
export const COMPENSATION_OF: Readonly<Record<Step, Compensation>> = {
  'reserve-stock': Compensation.ReleaseStock,
  'charge-payment': Compensation.RefundPayment,
  'commit-stock': Compensation.ReleaseStock,
};

/** The durable state of one order's saga. Times are epoch milliseconds. */
export interface Saga {
  orderId: string;
  customerId: string;
  productId: string;
  quantity: number;
  amountMinor: number;
  state: SagaState;
  /** The action to run next; null once the saga is over. */
  action: Action | null;
  /** Attempts made at `action` so far. */
  attempt: number;
  /** When `action` became current: its deadline counts from here. */
  actionSince: number;
  /** Not before this time (backoff). */
  nextRunAt: number;
  /** Compensations still to run, next first. */
  compensations: Compensation[];
  /** Where a compensating saga ends: CANCELLED (business outcome) or FAILED. */
  outcome: TerminalOrderStatus | null;
  /** True when the order already ended elsewhere (cancelled through the API): no status command is sent. */
  orderEnded: boolean;
  /** True when a compensation kept failing and the saga was parked as FAILED for an operator. */
  parked: boolean;
  reason: string | null;
  paymentId: string | null;
  /** W3C trace context of the request that placed the order: every step of the saga joins that trace. */
  traceparent: string | null;
  /** The step log, oldest first. Kept on the saga's own row: one write per transition, no extra table. */
  steps: StepRecord[];
  version: number;
  createdAt: number;
  updatedAt: number;
}

/** What running one action produced. A rejection is a business answer and is never retried. */
export type ActionOutcome =
  | { kind: 'ok'; paymentId?: string; detail?: string }
  | { kind: 'rejected'; nonRetryable: true; reason: string }
  | { kind: 'error'; transient: boolean; reason: string };

/** Timeouts and retry limits. */
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
  commands: { status: Exclude<OrderStatus, 'PENDING'>; reason?: string }[];
}

export function isOver(saga: Pick<Saga, 'state'>): boolean {
  return saga.state === SagaState.Completed || saga.state === SagaState.Cancelled || saga.state === SagaState.Failed;
}

/** A new saga for a placed order: its first action is reserving stock. */
export function startSaga(
  order: Pick<Saga, 'orderId' | 'customerId' | 'productId' | 'quantity' | 'amountMinor'>,
  now: number,
  traceparent: string | null = null,
): Saga {
  return {
    ...order,
    state: SagaState.Running,
    action: Step.ReserveStock,
    attempt: 0,
    actionSince: now,
    nextRunAt: now,
    compensations: [],
    outcome: null,
    orderEnded: false,
    parked: false,
    reason: null,
    paymentId: null,
    traceparent,
    steps: [{ at: now, action: 'saga', result: 'started', detail: null }],
    version: 0,
    createdAt: now,
    updatedAt: now,
  };
}

function next(saga: Saga, changes: Partial<Saga>, now: number): Saga {
  return { ...saga, ...changes, updatedAt: now };
}

/** Starts unwinding: compensations run next, and the saga ends in `outcome`. */
function compensate(
  saga: Saga,
  compensations: Compensation[],
  outcome: TerminalOrderStatus,
  reason: string,
  now: number,
): Transition {
  const stack = dedupe(compensations);
  if (stack.length === 0) return finish(saga, outcome, reason, now);
  return {
    saga: next(
      saga,
      {
        state: SagaState.Compensating,
        action: stack[0]!,
        compensations: stack.slice(1),
        attempt: 0,
        actionSince: now,
        nextRunAt: now,
        outcome,
        reason,
      },
      now,
    ),
    log: [{ action: stack[0]!, result: 'compensating', detail: reason }],
    commands: [],
  };
}

function finish(saga: Saga, outcome: TerminalOrderStatus, reason: string | null, now: number, parked = false): Transition {
  const state =
    outcome === OrderStatus.Completed
      ? SagaState.Completed
      : outcome === OrderStatus.Cancelled
        ? SagaState.Cancelled
        : SagaState.Failed;
  return {
    saga: next(
      saga,
      { state, action: null, compensations: [], attempt: 0, nextRunAt: now, outcome, reason, parked, orderEnded: true },
      now,
    ),
    log: [{ action: 'saga', result: parked ? 'parked' : 'finished', detail: reason ? `${state}: ${reason}` : state }],
    commands: saga.orderEnded ? [] : [{ status: outcome, ...(reason ? { reason } : {}) }],
  };
}

function dedupe(list: Compensation[]): Compensation[] {
  return list.filter((c, i) => list.indexOf(c) === i);
}

/** Compensations for what is done before `step`, newest first, plus `step`'s own when it may have taken effect. */
function unwindFrom(step: Step, includeCurrent: boolean): Compensation[] {
  const done = FORWARD.slice(0, FORWARD.indexOf(step) + (includeCurrent ? 1 : 0));
  return done.reverse().map((s) => COMPENSATION_OF[s]);
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
  const action = saga.action;
  if (action === null || isOver(saga)) return { saga, log: [], commands: [] };
  const attempt = saga.attempt + 1;

  if (saga.state === SagaState.Compensating) {
    const c = action as Compensation;
    if (outcome.kind === 'ok') {
      const [following, ...rest] = saga.compensations;
      const log: LogEntry = { action: c, result: 'ok', detail: outcome.detail ?? null };
      if (!following) {
        const t = finish(saga, saga.outcome ?? OrderStatus.Failed, saga.reason, now);
        return { ...t, log: [log, ...t.log] };
      }
      return {
        saga: next(saga, { action: following, compensations: rest, attempt: 0, actionSince: now, nextRunAt: now }, now),
        log: [log],
        commands: [],
      };
    }
    const reason = outcome.reason;
    if (outcome.kind === 'error' && outcome.transient && now - saga.actionSince < policy.compensationTimeoutMs) {
      return retry(saga, c, attempt, reason, now, policy, jitter);
    }
    // A compensation that cannot succeed is parked for an operator (POST /sagas/:id/retry), never dropped.
    const t = finish(saga, OrderStatus.Failed, `compensation ${c} failed: ${reason}`, now, true);
    return {
      saga: { ...t.saga, action: c, compensations: saga.compensations },
      log: [{ action: c, result: 'gave-up', detail: reason }, ...t.log],
      commands: t.commands,
    };
  }

  const step = action as Step;
  if (outcome.kind === 'ok') {
    const log: LogEntry = { action: step, result: 'ok', detail: outcome.detail ?? null };
    switch (step) {
      case Step.ReserveStock:
        return {
          saga: next(saga, { action: Step.ChargePayment, attempt: 0, actionSince: now, nextRunAt: now }, now),
          log: [log],
          commands: [{ status: OrderStatus.Confirmed }, { status: OrderStatus.PaymentProcessing }],
        };
      case Step.ChargePayment:
        return {
          saga: next(
            saga,
            {
              action: Step.CommitStock,
              attempt: 0,
              actionSince: now,
              nextRunAt: now,
              paymentId: outcome.paymentId ?? saga.paymentId,
            },
            now,
          ),
          log: [log],
          commands: [],
        };
      case Step.CommitStock: {
        const t = finish(saga, OrderStatus.Completed, null, now);
        return { ...t, log: [log, ...t.log] };
      }
    }
  }

  if (outcome.kind === 'rejected') {
    // The step answered "no": it took no effect, so only the steps before it are undone.
    const t = compensate(
      saga,
      unwindFrom(step, false),
      step === Step.CommitStock ? OrderStatus.Failed : OrderStatus.Cancelled,
      outcome.reason,
      now,
    );
    return { ...t, log: [{ action: step, result: 'rejected', detail: outcome.reason }, ...t.log] };
  }

  if (outcome.transient && now - saga.actionSince < policy.stepTimeoutMs) {
    return retry(saga, step, attempt, outcome.reason, now, policy, jitter);
  }
  // Timed out or broken: the step may or may not have taken effect, so its own compensation
  // runs too (compensations are idempotent and also fence off a late effect).
  const reason = outcome.transient
    ? `${step} timed out after ${attempt} attempts: ${outcome.reason}`
    : `${step} failed: ${outcome.reason}`;
  const t = compensate(saga, unwindFrom(step, true), OrderStatus.Failed, reason, now);
  return { ...t, log: [{ action: step, result: 'gave-up', detail: outcome.reason }, ...t.log] };
}

function retry(
  saga: Saga,
  action: Action,
  attempt: number,
  reason: string,
  now: number,
  policy: SagaPolicy,
  jitter: () => number,
): Transition {
  const wait = backoffDelay(policy.backoff, attempt, jitter);
  return {
    saga: next(saga, { attempt, nextRunAt: now + wait }, now),
    log: [{ action, result: 'retry', detail: `attempt ${attempt} failed (${reason}); next in ${wait} ms` }],
    commands: [],
  };
}

/**
 * The order ended outside the saga (cancelled or failed through the API). Whatever the saga did
 * or may be doing is undone; a saga that already completed is unwound too (refund, stock back).
 * The order's own status is final, so an unwinding or unwound saga takes it as its outcome.
 */
export function abort(saga: Saga, status: TerminalOrderStatus, now: number): Transition {
  const reason = `order ${status} outside the saga`;
  if (saga.state === SagaState.Running && saga.action) {
    const t = compensate({ ...saga, orderEnded: true }, unwindFrom(saga.action as Step, true), status, reason, now);
    return { ...t, log: [{ action: 'saga', result: 'aborted', detail: reason }, ...t.log] };
  }
  if (saga.state === SagaState.Completed && status !== OrderStatus.Completed) {
    const t = compensate(
      { ...saga, orderEnded: true },
      [Compensation.RefundPayment, Compensation.ReleaseStock],
      status,
      reason,
      now,
    );
    return { ...t, log: [{ action: 'saga', result: 'aborted', detail: reason }, ...t.log] };
  }
  if (saga.state === SagaState.Compensating && (!saga.orderEnded || saga.outcome !== status)) {
    return {
      saga: next(saga, { orderEnded: true, outcome: status }, now),
      log: [{ action: 'saga', result: 'aborted', detail: reason }],
      commands: [],
    };
  }
  // Unwound already, under the other name (the saga's own FAILED or CANCELLED lost the race to the API's).
  const unwound = saga.state === SagaState.Cancelled || saga.state === SagaState.Failed;
  if (unwound && !saga.parked && saga.outcome !== status) {
    return {
      saga: next(
        saga,
        { state: status === OrderStatus.Cancelled ? SagaState.Cancelled : SagaState.Failed, outcome: status },
        now,
      ),
      log: [{ action: 'saga', result: 'aborted', detail: `${reason}; already unwound` }],
      commands: [],
    };
  }
  return { saga, log: [], commands: [] };
}

/** The saga as it is to be stored after `t`: its log lines appended and its version advanced. */
export function afterTransition(before: Saga, t: Transition): Saga {
  const at = t.saga.updatedAt;
  return { ...t.saga, steps: [...t.saga.steps, ...t.log.map((e) => ({ ...e, at }))], version: before.version + 1 };
}

/** An operator resumes a parked saga: its remaining compensations run again from now. */
export function resume(saga: Saga, now: number): Transition | undefined {
  if (!saga.parked || !saga.action) return undefined;
  return {
    saga: next(saga, { state: SagaState.Compensating, parked: false, attempt: 0, actionSince: now, nextRunAt: now }, now),
    log: [{ action: saga.action, result: 'resumed', detail: 'resumed by an operator' }],
    commands: [],
  };
}
