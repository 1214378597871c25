import { describe, expect, it } from 'vitest';
import { afterAttempt, afterLapsedClaim, type DeliveryPolicy } from './delivery.js';

const policy: DeliveryPolicy = { maxAttempts: 4, backoff: { baseMs: 1000, maxMs: 5000 }, leaseMs: 20_000 };
const now = Date.parse('2024-01-01T00:00:00.000Z');
const refused = { kind: 'refused', permanent: false, reason: '451 try later' } as const;

describe('afterAttempt', () => {
  it('records a sent notification with the time it went out', () => {
    expect(afterAttempt(1, { kind: 'sent' }, now, policy)).toEqual({ status: 'SENT', sentAt: '2024-01-01T00:00:00.000Z' });
  });

  it('retries a refusal after an exponential backoff with jitter, capped', () => {
    // Equal jitter: between half and all of base × 2^(attempt-1), never above the cap.
    expect(afterAttempt(1, refused, now, policy, () => 0)).toEqual({
      status: 'PENDING',
      dueAt: now + 500,
      lastError: '451 try later',
    });
    expect(afterAttempt(1, refused, now, policy, () => 1)).toMatchObject({ dueAt: now + 1000 });
    expect(afterAttempt(3, refused, now, policy, () => 0)).toMatchObject({ dueAt: now + 2000 });
    expect(afterAttempt(3, refused, now, policy, () => 1)).toMatchObject({ dueAt: now + 4000 });
    expect(afterAttempt(3, refused, now, { ...policy, maxAttempts: 10 }, () => 1)).toMatchObject({ dueAt: now + 4000 });
    expect(afterAttempt(9, refused, now, { ...policy, maxAttempts: 10 }, () => 1)).toMatchObject({ dueAt: now + 5000 });
  });

  it('parks a refusal as FAILED once the attempts reach the cap', () => {
    expect(afterAttempt(3, refused, now, policy).status).toBe('PENDING');
    expect(afterAttempt(4, refused, now, policy)).toEqual({ status: 'FAILED', lastError: '451 try later' });
  });

  it('parks a permanent refusal as FAILED at once', () => {
    expect(afterAttempt(1, { kind: 'refused', permanent: true, reason: '550 no such user' }, now, policy)).toEqual({
      status: 'FAILED',
      lastError: '550 no such user',
    });
  });

  it('parks an outcome that cannot tell whether it was delivered as UNKNOWN, never to retry', () => {
    expect(afterAttempt(1, { kind: 'unknown', reason: 'connection lost' }, now, policy)).toEqual({
      status: 'UNKNOWN',
      lastError: 'connection lost',
    });
  });
});

describe('afterLapsedClaim', () => {
  it('tries a repeatable channel again at once, and parks email as UNKNOWN', () => {
    expect(afterLapsedClaim(true, now)).toMatchObject({ status: 'PENDING', dueAt: now });
    expect(afterLapsedClaim(false, now)).toMatchObject({ status: 'UNKNOWN', lastError: expect.stringMatching(/may or may not/) });
  });
});
