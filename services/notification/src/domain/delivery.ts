import { DeliveryStatus } from '@shopflow/contracts';
import { backoffDelay, type BackoffPolicy } from '@shopflow/platform/retry';

/** What one send attempt came to, as the sender could tell. */
export type SendOutcome =
  | { kind: 'sent' }
  /** The server said no, so nothing was delivered; `permanent` when it said so for good (an SMTP 5xx to the mail). */
  | { kind: 'refused'; permanent: boolean; reason: string }
  /** The attempt ended in a way that does not tell whether the message was delivered. */
  | { kind: 'unknown'; reason: string };

/** How often and how long delivery is tried. */
export interface DeliveryPolicy {
  /** Attempts after which a refused notification is parked as FAILED. */
  maxAttempts: number;
  /** The wait before each retry: exponential, capped, with jitter. */
  backoff: BackoffPolicy;
  /** How long a claim holds: past it, its sender is presumed dead. Longer than one send may take. */
  leaseMs: number;
}

/** What an attempt, or a claim that ran out, leaves in the notification's row. */
export type DeliveryChange =
  | { status: typeof DeliveryStatus.Sent; sentAt: string }
  | { status: typeof DeliveryStatus.Pending; dueAt: number; lastError: string }
  | { status: typeof DeliveryStatus.Failed | typeof DeliveryStatus.Unknown; lastError: string };

/**
 * The row after attempt number `attempts` ended in `outcome` at `now`. A refusal is tried again
 * after a backoff, until the policy's cap or a permanent refusal parks it as FAILED; an outcome
 * that cannot tell whether the message went out parks it as UNKNOWN, never to be sent again.
 */
export function afterAttempt(
  attempts: number,
  outcome: SendOutcome,
  now: number,
  policy: DeliveryPolicy,
  random: () => number = Math.random,
): DeliveryChange {
  switch (outcome.kind) {
    case 'sent':
      return { status: DeliveryStatus.Sent, sentAt: new Date(now).toISOString() };
    case 'unknown':
      return { status: DeliveryStatus.Unknown, lastError: outcome.reason };
    case 'refused':
      if (outcome.permanent || attempts >= policy.maxAttempts)
        return { status: DeliveryStatus.Failed, lastError: outcome.reason };
      return {
        status: DeliveryStatus.Pending,
        dueAt: now + backoffDelay(policy.backoff, attempts, random),
        lastError: outcome.reason,
      };
  }
}

/**
 * The row after a claim ran out at `now`: its sender died or stalled between claiming and
 * recording, so nobody knows whether the message went out. On a channel where a repeat is
 * harmless (`repeatable`, the log) it is simply tried again; email might already be in the
 * customer's mailbox, and "never twice" outranks "at least once", so it waits for an operator.
 */
export function afterLapsedClaim(repeatable: boolean, now: number): DeliveryChange {
  return repeatable
    ? { status: DeliveryStatus.Pending, dueAt: now, lastError: 'the sender stopped before recording the attempt' }
    : {
        status: DeliveryStatus.Unknown,
        lastError: 'the sender stopped before recording the attempt; it may or may not have been sent',
      };
}
