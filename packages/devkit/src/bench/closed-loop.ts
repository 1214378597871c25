// A closed-loop driver in this process: N workers, each starting its next operation when the
// previous one has finished, for a fixed time. The component benchmarks run a component and its
// bare baseline through the same driver, so a ratio of the two compares like with like.

/** How many workers, and for how long. */
export interface LoopOptions {
  concurrency: number;
  /** Milliseconds; an operation started before the end is awaited, and counted. */
  durationMs: number;
}

/** What one closed loop did: latencies in milliseconds, of successful operations. */
export interface LoopRun {
  errors: number;
  /** The first error's message, so that a broken run says why. */
  firstError: string | undefined;
  seconds: number;
  latencies: number[];
}

/** One or more loops of the same operation summed up. Latencies in milliseconds, of successful operations. */
export interface LoopResult {
  ops: number;
  errors: number;
  firstError: string | undefined;
  seconds: number;
  /** Successful operations per second. */
  rate: number;
  p50Ms: number;
  p99Ms: number;
}

/** The value at quantile `q` (0..1) of `values` by nearest rank; NaN when empty. Sorts `values` in place. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))]!;
}

/** Runs of the same operation as one result: operations and seconds added, quantiles over every latency. */
export function summarise(...runs: LoopRun[]): LoopResult {
  const latencies = runs.flatMap((r) => r.latencies);
  const seconds = runs.reduce((sum, r) => sum + r.seconds, 0);
  return {
    ops: latencies.length,
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    firstError: runs.find((r) => r.firstError !== undefined)?.firstError,
    seconds,
    rate: seconds > 0 ? latencies.length / seconds : NaN,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
  };
}

/**
 * Runs `op(worker)` in `concurrency` closed loops until `durationMs` has passed. A failed
 * operation is counted and the worker goes on.
 */
export async function closedLoop(o: LoopOptions, op: (worker: number) => Promise<void>): Promise<LoopRun> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const end = started + o.durationMs;
  const worker = async (w: number) => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        await op(w);
        latencies.push(performance.now() - t);
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
  return { errors, firstError, seconds: (performance.now() - started) / 1000, latencies };
}
