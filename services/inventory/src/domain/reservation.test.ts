import { describe, expect, it } from 'vitest';
import { ReservationStatus } from '@shopflow/contracts';
import { SETTLEMENTS, decideReplay, decideSettlement, reserveMove, type Reservation, type Settlement } from './reservation.js';
import type { StockMove } from './product.js';

const { Reserved, Committed, Released, Returned } = ReservationStatus;
const total = (m: StockMove) => m.available + m.reserved + m.sold;

function reservation(status: ReservationStatus, overrides: Partial<Reservation> = {}): Reservation {
  return {
    orderId: 'o-1',
    productId: 'P1',
    quantity: 3,
    status,
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    ...overrides,
  };
}

describe('stock moves', () => {
  it('reserve takes from available into reserved and keeps the total', () => {
    expect(reserveMove(4)).toEqual({ available: -4, reserved: 4, sold: 0 });
    expect(total(reserveMove(4))).toBe(0);
  });

  it.each([
    ['commit', { available: 0, reserved: -5, sold: 5 }],
    ['release', { available: 5, reserved: -5, sold: 0 }],
    ['return', { available: 5, reserved: 0, sold: -5 }],
  ] as const)('%s moves %o and keeps the total', (action, move) => {
    expect(SETTLEMENTS[action].move(5)).toEqual(move);
    expect(total(SETTLEMENTS[action].move(5))).toBe(0);
  });
});

describe('decideSettlement', () => {
  // Every (action, status) pair, so a changed rule cannot slip through untested.
  const table: [Settlement, ReservationStatus | undefined, string][] = [
    ['commit', Reserved, 'apply'],
    ['commit', Committed, 'unchanged'],
    ['commit', Released, 'rejected'],
    ['commit', Returned, 'rejected'],
    ['commit', undefined, 'missing'],
    ['release', Reserved, 'apply'],
    ['release', Released, 'unchanged'],
    ['release', Returned, 'unchanged'],
    ['release', Committed, 'rejected'],
    ['release', undefined, 'tombstone'],
    ['return', Committed, 'apply'],
    ['return', Returned, 'unchanged'],
    ['return', Reserved, 'rejected'],
    ['return', Released, 'rejected'],
    ['return', undefined, 'missing'],
  ];

  it.each(table)('%s on %s → %s', (action, status, kind) => {
    expect(decideSettlement(action, status).kind).toBe(kind);
  });

  it('tells a caller releasing a committed reservation to return it instead', () => {
    expect(decideSettlement('release', Committed)).toEqual({
      kind: 'rejected',
      reason: expect.stringContaining('return'),
    });
  });

  it('names the action and status when refusing', () => {
    expect(decideSettlement('commit', Released)).toEqual({ kind: 'rejected', reason: 'cannot commit a RELEASED reservation' });
  });
});

describe('decideReplay', () => {
  const request = { orderId: 'o-1', productId: 'P1', quantity: 3 };

  it.each([Reserved, Committed])('replays the same request on a %s reservation', (status) => {
    expect(decideReplay(reservation(status), request)).toEqual({ kind: 'replay' });
  });

  it.each([Released, Returned])('refuses a reserve after the stock went back (%s)', (status) => {
    expect(decideReplay(reservation(status), request)).toEqual({ kind: 'released' });
  });

  it('a tombstone refuses any late reserve', () => {
    const tombstone = reservation(Released, { productId: null, quantity: 0 });
    expect(decideReplay(tombstone, request)).toEqual({ kind: 'released' });
  });

  it.each([
    ['another product', { productId: 'P2' }],
    ['another quantity', { quantity: 4 }],
  ])('refuses %s under the same order id', (_what, change) => {
    const decision = decideReplay(reservation(Reserved), { ...request, ...change });
    expect(decision).toEqual({ kind: 'mismatch', reason: 'order o-1 already reserved 3 of P1' });
  });
});
