import { describe, expect, it } from 'vitest';
import { RestartBudget, formatGiveUp, OutputTail } from './restart-budget.js';
import { supervisionFromEnv } from './supervision-config.js';

const policy = { maxRestarts: 3, windowMs: 10_000, baseBackoffMs: 100, maxBackoffMs: 1000, stableAfterMs: 5000 };

describe('RestartBudget', () => {
  it('backs off exponentially up to the cap, jittered down by at most half', () => {
    const high = new RestartBudget({ ...policy, maxRestarts: 99 }, () => 1);
    const low = new RestartBudget({ ...policy, maxRestarts: 99 }, () => 0);
    const delays = (budget: RestartBudget) =>
      Array.from({ length: 6 }, (_, i) => budget.crashed(10, i * 10)).map((v) => (v.giveUp ? -1 : v.delayMs));
    expect(delays(high)).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(delays(low)).toEqual([50, 100, 200, 400, 500, 500]);
  });

  it('gives up on the crash after maxRestarts within the window', () => {
    const budget = new RestartBudget(policy, () => 0.5);
    expect([0, 1000, 2000].map((t) => budget.crashed(10, t).giveUp)).toEqual([false, false, false]);
    expect(budget.crashed(10, 3000)).toEqual({ giveUp: true, crashes: 4 });
  });

  it('forgets crashes older than the window', () => {
    const budget = new RestartBudget(policy, () => 0.5);
    for (const t of [0, 1000, 2000]) budget.crashed(10, t);
    // The first crash is 10 s old by now: three in the window, so a fourth restart is allowed.
    expect(budget.crashed(10, 10_000).giveUp).toBe(false);
    expect(budget.crashed(10, 10_500).giveUp).toBe(true);
  });

  it('starts afresh, backoff and all, after a run that lasted stableAfterMs', () => {
    const budget = new RestartBudget(policy, () => 1);
    for (const t of [0, 100, 200]) budget.crashed(10, t);
    expect(budget.crashed(5000, 6000)).toEqual({ giveUp: false, delayMs: 100 });
  });

  it('catches a service that crashes after a few seconds of uptime each time (the stable run is longer)', () => {
    const budget = new RestartBudget({ ...policy, windowMs: 60_000 }, () => 1);
    const verdicts = [11_000, 22_000, 33_000, 44_000].map((t) => budget.crashed(4000, t));
    expect(verdicts.map((v) => v.giveUp)).toEqual([false, false, false, true]);
  });
});

describe('formatGiveUp', () => {
  it('names the process, how it last died and its last output', () => {
    const tail = new OutputTail(2);
    for (const line of ['one', 'two', 'three']) tail.push(line);
    const text = formatGiveUp({ name: 'order', crashes: 11, windowMs: 300_000, code: 3, signal: null, tail: tail.lines });
    expect(text).toMatch(/^GAVE UP on order: it crashed 11 times within 300 s \(last: exit code 3\)/);
    expect(text.split('\n').slice(1)).toEqual(['  last output of order:', '  | two', '  | three']);
    const killed = formatGiveUp({ name: 'nats-server', crashes: 2, windowMs: 1000, code: null, signal: 'SIGKILL', tail: [] });
    expect(killed).toContain('(last: killed by SIGKILL)');
    expect(killed).toContain('(nats-server printed nothing)');
  });
});

describe('supervisionFromEnv', () => {
  it('reads the budget and the hang threshold, 0 turning liveness checks off', () => {
    expect(supervisionFromEnv({})).toEqual({ restartPolicy: {}, liveness: {} });
    expect(
      supervisionFromEnv({ SUPERVISOR_MAX_RESTARTS: '4', SUPERVISOR_RESTART_WINDOW_MS: '60000', SUPERVISOR_HANG_MS: '0' }),
    ).toEqual({ restartPolicy: { maxRestarts: 4, windowMs: 60_000 }, liveness: undefined });
    expect(supervisionFromEnv({ SUPERVISOR_HANG_MS: '5000' }).liveness).toEqual({ hangMs: 5000 });
    expect(() => supervisionFromEnv({ SUPERVISOR_MAX_RESTARTS: 'many' })).toThrow(/SUPERVISOR_MAX_RESTARTS/);
  });
});
