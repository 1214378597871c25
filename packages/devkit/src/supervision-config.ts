import type { LivenessPolicy } from './liveness.js';
import type { RestartPolicy } from './restart-budget.js';

/** What `npm start` gives its supervisor; see supervisionFromEnv. */
export interface Supervision {
  restartPolicy: Partial<RestartPolicy>;
  /** Undefined when liveness checks are turned off. */
  liveness: Partial<LivenessPolicy> | undefined;
}

/**
 * The supervisor's settings from SUPERVISOR_MAX_RESTARTS, SUPERVISOR_RESTART_WINDOW_MS and
 * SUPERVISOR_HANG_MS (0 turns liveness checks off); the defaults for what is unset. Throws on a bad value.
 */
export function supervisionFromEnv(env: NodeJS.ProcessEnv): Supervision {
  const restartPolicy: Partial<RestartPolicy> = {};
  const maxRestarts = count(env, 'SUPERVISOR_MAX_RESTARTS');
  if (maxRestarts !== undefined) restartPolicy.maxRestarts = maxRestarts;
  const windowMs = count(env, 'SUPERVISOR_RESTART_WINDOW_MS');
  if (windowMs !== undefined) restartPolicy.windowMs = windowMs;
  const hangMs = count(env, 'SUPERVISOR_HANG_MS');
  return { restartPolicy, liveness: hangMs === 0 ? undefined : hangMs === undefined ? {} : { hangMs } };
}

function count(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a whole number ≥ 0, not "${raw}"`);
  return value;
}
