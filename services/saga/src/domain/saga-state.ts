import { OrderStatus, SagaState, type OrderStatus as Status, type TerminalOrderStatus } from '@shopflow/contracts';
import type { SagaOrder } from './ports.js';
import { ORDER_SAGA, type CompensationName, type PortCall, type StepName, type UnwoundStatus } from './steps.js';

export type { CompensationName, StepName, UnwoundStatus } from './steps.js';
export type ActionName = StepName | CompensationName;

/** What every saga stores, whatever its state. Times are epoch milliseconds. */
export interface SagaCommon extends SagaOrder {
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

/** The saga over in `outcome`, with nothing left to run. */
export function ended(saga: SagaCommon, outcome: TerminalOrderStatus, reason: string | null, now: number): EndedSaga {
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

/** The saga as it is to be stored after `t`: its log lines appended and its version advanced. */
export function afterTransition(before: Saga, t: Transition): Saga {
  const at = t.saga.updatedAt;
  return { ...t.saga, steps: [...t.saga.steps, ...t.log.map((e) => ({ ...e, at }))], version: before.version + 1 };
}
