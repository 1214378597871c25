/** How the supervisor judges a process that keeps dying: backoff between restarts, and when to give up. */
export interface RestartPolicy {
  /** Restarts allowed within `windowMs`; the next crash inside the window gives up on the process. */
  maxRestarts: number;
  windowMs: number;
  /** The first backoff; each further crash in the window doubles it, up to `maxBackoffMs`, jittered down by up to half. */
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** A run that lasted this long wipes the record: the process was healthy, and its next crash starts afresh. */
  stableAfterMs: number;
}

/**
 * Ten restarts in five minutes: a process that never comes up is given up on after about two
 * minutes of backoff (so a dependency's outage of a minute or so is ridden out), and one that
 * crashes every few seconds of uptime is given up on within the window too.
 */
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  maxRestarts: 10,
  windowMs: 300_000,
  baseBackoffMs: 500,
  maxBackoffMs: 15_000,
  stableAfterMs: 60_000,
};

/** What the budget says after a crash: restart after `delayMs`, or give up after `crashes` in the window. */
export type Verdict = { giveUp: false; delayMs: number } | { giveUp: true; crashes: number };

/** The crash record of one process. Pure but for the clock and `random`, which tests may pass in. */
export class RestartBudget {
  readonly policy: RestartPolicy;
  private crashes: number[] = [];

  constructor(
    policy: Partial<RestartPolicy> = {},
    private readonly random: () => number = Math.random,
  ) {
    this.policy = { ...DEFAULT_RESTART_POLICY, ...policy };
  }

  /** Records a crash after a run of `uptimeMs` and says what to do about it. */
  crashed(uptimeMs: number, now = Date.now()): Verdict {
    const { maxRestarts, windowMs, stableAfterMs } = this.policy;
    if (uptimeMs >= stableAfterMs) this.crashes = [];
    this.crashes = this.crashes.filter((t) => now - t < windowMs);
    this.crashes.push(now);
    if (this.crashes.length > maxRestarts) return { giveUp: true, crashes: this.crashes.length };
    return { giveUp: false, delayMs: this.backoff(this.crashes.length) };
  }

  /** The delay before the `attempt`-th restart in a row; attempt 1 also serves a restart that is no crash. */
  backoff(attempt = 1): number {
    const { baseBackoffMs, maxBackoffMs } = this.policy;
    const ceiling = Math.min(maxBackoffMs, baseBackoffMs * 2 ** (attempt - 1));
    // Jitter keeps processes that died together (say, with their database) from restarting in lockstep.
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }
}

/** The last lines a process printed, kept so that a give-up can show why it died. */
export class OutputTail {
  private readonly kept: string[] = [];

  constructor(private readonly size = 15) {}

  push(line: string): void {
    this.kept.push(line);
    if (this.kept.length > this.size) this.kept.shift();
  }

  get lines(): readonly string[] {
    return [...this.kept];
  }
}

/** Everything the supervisor knows when it gives up on a process. */
export interface GiveUp {
  name: string;
  crashes: number;
  windowMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The process's last lines of output, oldest first. */
  tail: readonly string[];
}

/** The loud, multi-line report of a give-up: the process, how it last died, and its last output. */
export function formatGiveUp(report: GiveUp, colour = false): string {
  const red = (text: string) => (colour ? `\x1b[1;31m${text}\x1b[0m` : text);
  const death = report.signal ? `killed by ${report.signal}` : `exit code ${report.code}`;
  const lines = [
    red(`GAVE UP on ${report.name}`) +
      `: it crashed ${report.crashes} times within ${Math.round(report.windowMs / 1000)} s (last: ${death}); not restarting it again.`,
  ];
  if (report.tail.length === 0) lines.push(`  (${report.name} printed nothing)`);
  else lines.push(`  last output of ${report.name}:`, ...report.tail.map((line) => `  | ${line}`));
  return lines.join('\n');
}
