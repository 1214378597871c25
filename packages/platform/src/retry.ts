/** Backoff policy for retried steps: exponential growth capped at maxMs, with equal jitter. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  factor?: number;
}

/** Delay before retry number `attempt` (1-based). `random` is injectable so the rule is testable. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * (policy.factor ?? 2) ** Math.max(0, attempt - 1));
  // Equal jitter: never less than half the ceiling (no hammering), and callers that failed
  // together spread over the other half instead of retrying in lockstep.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Resolves after `ms`, or early with an AbortError when `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => (signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal?.aborted) return reject(aborted());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `promise`, or a rejection naming the timeout once `ms` have passed. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
