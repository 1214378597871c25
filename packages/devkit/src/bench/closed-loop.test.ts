import { describe, expect, it } from 'vitest';
import { closedLoop, quantile, summarise } from './closed-loop.js';

describe('quantile', () => {
  it('takes the nearest rank, and NaN of nothing', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(quantile(values, 0.5)).toBe(5);
    expect(quantile(values, 0.99)).toBe(10);
    expect(quantile(values, 1)).toBe(10);
    expect(quantile(values, 0)).toBe(1);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe('closedLoop', () => {
  it('keeps exactly `concurrency` operations in flight, counts failures apart and goes on after them', async () => {
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const workers = new Set<number>();
    const run = await closedLoop({ concurrency: 4, durationMs: 50 }, async (worker) => {
      workers.add(worker);
      const n = ++calls;
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      if (n % 3 === 0) throw new Error(`failure ${n}`);
    });
    expect(most).toBe(4);
    expect([...workers].sort()).toEqual([0, 1, 2, 3]);
    expect(run.latencies.length + run.errors).toBe(calls);
    expect(run.errors).toBe(Math.floor(calls / 3));
    expect(run.firstError).toBe('failure 3');
    expect(run.seconds).toBeGreaterThan(0);
  });
});

describe('summarise', () => {
  it('adds operations and seconds of several runs and takes quantiles over all their latencies', () => {
    const r = summarise(
      { errors: 0, firstError: undefined, seconds: 1, latencies: [1, 2, 3] },
      { errors: 2, firstError: 'boom', seconds: 2, latencies: [4, 5, 6, 7, 8, 9] },
    );
    expect(r).toEqual({ ops: 9, errors: 2, firstError: 'boom', seconds: 3, rate: 3, p50Ms: 5, p99Ms: 9 });
  });
});
