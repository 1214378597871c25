import { ReservationStatus } from '@shopflow/contracts';
import type { StockMove } from './product.js';

/** Stock held for one order; the order id is the key that makes every call idempotent. */
export interface Reservation {
  orderId: string;
  /** Null only in a tombstone: a release that came before any reserve, stored so a late reserve cannot take stock. */
  productId: string | null;
  quantity: number;
  status: ReservationStatus;
  createdAt: string;
  updatedAt: string;
}

/** Taking `quantity` from available into reserved. */
export function reserveMove(quantity: number): StockMove {
  return { available: -quantity, reserved: quantity, sold: 0 };
}

/** The calls that settle a reservation after it was made. */
export type Settlement = 'commit' | 'release' | 'return';

export interface SettlementRule {
  /** The one status the settlement applies to. */
  from: ReservationStatus;
  to: ReservationStatus;
  move: (quantity: number) => StockMove;
}

/** The reservation state machine: RESERVED → COMMITTED | RELEASED, COMMITTED → RETURNED. */
export const SETTLEMENTS: Readonly<Record<Settlement, SettlementRule>> = {
  commit: {
    from: ReservationStatus.Reserved,
    to: ReservationStatus.Committed,
    move: (q) => ({ available: 0, reserved: -q, sold: q }),
  },
  release: {
    from: ReservationStatus.Reserved,
    to: ReservationStatus.Released,
    move: (q) => ({ available: q, reserved: -q, sold: 0 }),
  },
  // Compensates a commit: the sale is undone and the stock is free again.
  return: {
    from: ReservationStatus.Committed,
    to: ReservationStatus.Returned,
    move: (q) => ({ available: q, reserved: 0, sold: -q }),
  },
};

export type SettlementDecision =
  | { kind: 'apply' }
  /** Already where the call leads: a replay, answered with the reservation as it is. */
  | { kind: 'unchanged' }
  /** No reservation, and the call needs one (404). */
  | { kind: 'missing' }
  /** No reservation yet to release: record a RELEASED tombstone so a late reserve is refused. */
  | { kind: 'tombstone' }
  | { kind: 'rejected'; reason: string };

/** What `action` does to a reservation in `status` (undefined when the order has none). */
export function decideSettlement(action: Settlement, status: ReservationStatus | undefined): SettlementDecision {
  if (status === undefined) return { kind: action === 'release' ? 'tombstone' : 'missing' };
  const rule = SETTLEMENTS[action];
  if (status === rule.from) return { kind: 'apply' };
  if (status === rule.to) return { kind: 'unchanged' };
  // A returned reservation holds nothing any more, which is all a release asks for.
  if (action === 'release' && status === ReservationStatus.Returned) return { kind: 'unchanged' };
  if (action === 'release' && status === ReservationStatus.Committed) {
    return { kind: 'rejected', reason: 'the reservation is COMMITTED: undo it with return, not release' };
  }
  return { kind: 'rejected', reason: `cannot ${action} a ${status} reservation` };
}

/** A reserve call: which order wants how much of what. */
export interface ReserveRequest {
  orderId: string;
  productId: string;
  quantity: number;
}

export type ReplayDecision =
  /** The same reservation again: answer with it, take nothing more. */
  | { kind: 'replay' }
  /** The order's stock was already given back; a late reserve must not take it again. */
  | { kind: 'released' }
  | { kind: 'mismatch'; reason: string };

/** A reserve for an order that already has a reservation. */
export function decideReplay(existing: Reservation, request: ReserveRequest): ReplayDecision {
  if (existing.status === ReservationStatus.Released || existing.status === ReservationStatus.Returned) {
    return { kind: 'released' };
  }
  if (existing.productId !== request.productId || existing.quantity !== request.quantity) {
    return {
      kind: 'mismatch',
      reason: `order ${existing.orderId} already reserved ${existing.quantity} of ${existing.productId ?? 'nothing'}`,
    };
  }
  return { kind: 'replay' };
}
