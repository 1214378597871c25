import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceName } from '@shopflow/platform/config';
import { grpcServing, httpReady, serviceAnswers } from './health.js';
import { DEFAULT_LIVENESS, watchLiveness, type LivenessPolicy, type LivenessWatch } from './liveness.js';
import { OutputTail, RestartBudget, type GiveUp, type RestartPolicy } from './restart-budget.js';
import { waitFor } from './wait.js';

/** The repository root (devkit lives in packages/devkit/dist or packages/devkit/src). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Receives each line a service prints: the service name, whether it was stderr, the line. */
export type LineSink = (service: ServiceName, line: string, stream: 'stdout' | 'stderr') => void;

export interface ServiceProcessOptions {
  name: ServiceName;
  port: number;
  env: NodeJS.ProcessEnv;
  sink: LineSink;
  /** The script to run instead of services/<name>/dist/main.js (tests use stand-ins). */
  script?: string;
  /** Restart after an unexpected exit, with backoff (default true). */
  restart?: boolean;
  /** Backoff and crash-loop budget; DEFAULT_RESTART_POLICY for what is not given. */
  restartPolicy?: Partial<RestartPolicy>;
  /** Liveness checks after start: a service that stops answering is killed and restarted as a crash. Off when omitted. */
  liveness?: Partial<LivenessPolicy>;
  /** Told about every exit, with the delay before the restart, or undefined when there will be none. */
  onExit?: (name: ServiceName, code: number | null, signal: NodeJS.Signals | null, restartInMs: number | undefined) => void;
  /** Told once, after that exit, when the crash-loop budget is spent: the service is not restarted again. */
  onGiveUp?: (report: GiveUp) => void;
  /** Told when the service stopped answering its liveness check, just before it is killed with SIGKILL. */
  onHang?: (name: ServiceName, silentMs: number) => void;
}

/**
 * One service process under supervision: restarted with backoff when it dies, given up on when it
 * keeps crashing, killed and restarted when it hangs (if asked to check); stoppable, killable.
 */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private held = false;
  /** Set by kill(): the owner's fault injection is not the service's crash, so it costs no budget. */
  private killedByOwner = false;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private liveness: LivenessWatch | undefined;
  private readonly budget: RestartBudget;
  private readonly tail = new OutputTail();
  private givenUp = new AbortController();
  readonly name: ServiceName;
  readonly port: number;

  constructor(private readonly options: ServiceProcessOptions) {
    this.name = options.name;
    this.port = options.port;
    this.budget = new RestartBudget(options.restartPolicy);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** True once the crash-loop budget is spent; only an explicit start() runs the service again. */
  get gaveUp(): boolean {
    return this.givenUp.signal.aborted;
  }

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.held = false;
    this.killedByOwner = false;
    if (this.gaveUp) this.givenUp = new AbortController();
    const main = this.options.script ?? path.join(REPO_ROOT, 'services', this.name, 'dist', 'main.js');
    const child = spawn(process.execPath, ['--enable-source-maps', main], {
      env: { ...this.options.env, SHOPFLOW_SUPERVISED: '1' },
      // stdin stays open for the child's lifetime: its end tells the service we are gone.
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.startedAt = Date.now();
    const sink = (line: string, stream: 'stdout' | 'stderr') => {
      this.tail.push(line);
      this.options.sink(this.name, line, stream);
    };
    pipeLines(child.stdout, (line) => sink(line, 'stdout'));
    pipeLines(child.stderr, (line) => sink(line, 'stderr'));
    const liveness = this.watch(child);
    this.liveness = liveness;
    child.once('exit', (code, signal) => {
      liveness?.stop();
      this.exited(code, signal);
    });
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    let restartInMs: number | undefined;
    let report: GiveUp | undefined;
    if (!this.stopping && !this.held && this.options.restart !== false) {
      const verdict = this.killedByOwner
        ? ({ giveUp: false, delayMs: this.budget.backoff() } as const)
        : this.budget.crashed(Date.now() - this.startedAt);
      if (!verdict.giveUp) restartInMs = verdict.delayMs;
      else {
        const { windowMs } = this.budget.policy;
        report = { name: this.name, crashes: verdict.crashes, windowMs, code, signal, tail: this.tail.lines };
      }
    }
    this.options.onExit?.(this.name, code, signal, restartInMs);
    if (report) {
      this.givenUp.abort(new Error(`gave up on ${this.name} after ${report.crashes} crashes`));
      this.options.onGiveUp?.(report);
    }
    if (restartInMs !== undefined) this.restartTimer = setTimeout(() => this.start(), restartInMs);
  }

  /** Starts the liveness watch of one child, if asked for. */
  private watch(child: ChildProcess): LivenessWatch | undefined {
    if (!this.options.liveness) return undefined;
    return watchLiveness(
      (timeoutMs) => serviceAnswers(this.name, this.port, timeoutMs),
      { ...DEFAULT_LIVENESS, ...this.options.liveness },
      (silentMs) => {
        if (child !== this.child || !this.running || this.stopping) return;
        this.options.onHang?.(this.name, silentMs);
        // SIGKILL, since a hung event loop never runs a SIGTERM handler; a stopped process dies of it too.
        child.kill('SIGKILL');
      },
    );
  }

  /** Resolves when the service answers its readiness check (HTTP /ready, or gRPC health for payment); rejects on a give-up. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      `${this.name} to be ready on ${this.port}`,
      () => (this.name === 'payment' ? grpcServing(`127.0.0.1:${this.port}`) : httpReady(`http://127.0.0.1:${this.port}`)),
      { timeoutMs, intervalMs: 100, signal: this.givenUp.signal },
    );
    // A ready service has answered: from now on, silence counts as a hang.
    this.liveness?.answered();
  }

  /** Sends a signal. With `holdMs`, a killed process stays down that long before it is restarted. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', { holdMs }: { holdMs?: number } = {}): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    if (holdMs !== undefined) this.held = true;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
      child.kill(signal);
      return;
    }
    this.killedByOwner = true;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
    if (holdMs !== undefined) {
      await new Promise((r) => setTimeout(r, holdMs));
      this.start();
    }
  }

  /** SIGTERM, then SIGKILL if the service has not exited within `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGCONT'); // a stopped (SIGSTOP) process cannot handle SIGTERM
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

function pipeLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.length > 0) onLine(line);
  });
  stream.on('end', () => {
    if (rest.length > 0) onLine(rest);
  });
}
