import { OrderStatus } from '@shopflow/contracts';
import type { SagaOrder, SagaPorts, StepResult } from './ports.js';

/** A call through the ports; it does the I/O when the runner invokes it, never when the saga decides. */
export type PortCall = (ports: SagaPorts, order: SagaOrder) => Promise<StepResult>;

/** Order statuses a step may command on its way; the terminal ones come from how the saga ends. */
export type ProgressStatus = typeof OrderStatus.Confirmed | typeof OrderStatus.PaymentProcessing;

/** How an unwinding saga ends: CANCELLED for a business "no", FAILED otherwise. */
export type UnwoundStatus = typeof OrderStatus.Cancelled | typeof OrderStatus.Failed;

/** A compensation's refusal meaning there was nothing left to undo: the unwinding goes on. */
export const NothingToUndo = 'nothing-to-undo';

/** What undoes a step. Compensations are idempotent and also fence off a late effect of their step. */
export interface CompensationEntry<C extends string> {
  name: C;
  call: PortCall;
  /**
   * What it means when the callee refuses it: another compensation to run instead, or that nothing
   * was left to undo. Without it, a refusal parks the saga for an operator.
   */
  ifRefused?: NoInfer<C> | typeof NothingToUndo;
  /** Its own deadline before the saga is parked; SagaPolicy.compensationTimeoutMs when absent. */
  timeoutMs?: number;
}

/** One forward step of the saga, with its compensation beside it. */
export interface StepEntry<S extends string, C extends string> {
  name: S;
  call: PortCall;
  compensation: CompensationEntry<C>;
  /** Order statuses commanded when the step succeeds, in this order. */
  raises: readonly ProgressStatus[];
  /** Where the saga ends when the callee refuses the step (it took no effect). */
  ifRefused: UnwoundStatus;
  /** An earlier step's compensation this step's success makes moot: its own compensation takes over. */
  supersedes?: NoInfer<C>;
  /** Its own deadline before it is given up and compensated; SagaPolicy.stepTimeoutMs when absent. */
  timeoutMs?: number;
}

/** The steps in order, with lookups by name. */
export interface SagaDefinition<S extends string, C extends string> {
  readonly steps: readonly StepEntry<S, C>[];
  readonly first: S;
  step(name: S): StepEntry<S, C>;
  /** The step that follows `name`; undefined after the last. */
  after(name: S): S | undefined;
  compensation(name: C): CompensationEntry<C>;
  isStep(name: string): name is S;
  isCompensation(name: string): name is C;
}

/** Builds the lookups of a saga table; every name an entry refers to is checked by the compiler. */
export function defineSaga<const S extends string, const C extends string>(
  steps: readonly [StepEntry<S, C>, ...StepEntry<S, C>[]],
): SagaDefinition<S, C> {
  const stepIndex = new Map<string, number>(steps.map((s, i) => [s.name, i]));
  const compensations = new Map<string, CompensationEntry<C>>(steps.map((s) => [s.compensation.name, s.compensation]));
  const find = <T>(found: T | undefined, name: string): T => {
    if (found === undefined) throw new Error(`no saga entry named ${name}`);
    return found;
  };
  const isStep = (name: string): name is S => stepIndex.has(name);
  return {
    steps,
    first: steps[0].name,
    step: (name) => find(steps[stepIndex.get(name) ?? -1], name),
    after: (name) => steps[find(stepIndex.get(name), name) + 1]?.name,
    compensation: (name) => find(compensations.get(name), name),
    isStep,
    isCompensation: (name): name is C => compensations.has(name),
  };
}

/**
 * The order saga. Adding a step is one entry here plus the port method it calls; decide() and the
 * runner read nothing else. On a failure, the compensations of what was done run newest first.
 */
export const ORDER_SAGA = defineSaga([
  {
    name: 'reserve-stock',
    call: (ports, order) => ports.stock.reserve(order),
    compensation: {
      name: 'release-stock',
      call: (ports, order) => ports.stock.release(order),
      // Refused when the stock was sold after all: a commit that landed late, or a saga stored by the
      // previous version, whose release-stock also stood for undoing commit-stock. Give it back instead.
      ifRefused: 'return-stock',
    },
    raises: [OrderStatus.Confirmed, OrderStatus.PaymentProcessing],
    ifRefused: OrderStatus.Cancelled,
  },
  {
    name: 'charge-payment',
    call: (ports, order) => ports.payments.charge(order),
    compensation: { name: 'refund-payment', call: (ports, order) => ports.payments.refund(order) },
    raises: [],
    ifRefused: OrderStatus.Cancelled,
  },
  {
    name: 'commit-stock',
    call: (ports, order) => ports.stock.commit(order),
    // Refused when nothing was sold (the commit never took effect): release-stock, which runs later, frees the reservation.
    compensation: { name: 'return-stock', call: (ports, order) => ports.stock.return(order), ifRefused: NothingToUndo },
    // Sold stock is no longer reserved: once committed, only a return gives it back.
    supersedes: 'release-stock',
    raises: [],
    // The stock was reserved for this order: a refused commit is a fault, not a business "no".
    ifRefused: OrderStatus.Failed,
  },
]);

/** The forward steps' names, in no particular order. */
export type StepName = (typeof ORDER_SAGA.steps)[number]['name'];
/** The compensations' names. */
export type CompensationName = (typeof ORDER_SAGA.steps)[number]['compensation']['name'];
