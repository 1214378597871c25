import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceName } from '@shopflow/platform/config';
import { grpcServing, httpReady } from './health.js';
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
  /** Restart after an unexpected exit, with backoff (default true). */
  restart?: boolean;
  /** Told about every exit, e.g. for the launcher's log. */
  onExit?: (name: ServiceName, code: number | null, signal: NodeJS.Signals | null) => void;
}

/** One service process under supervision: restarted with backoff when it dies, stoppable, killable. */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private held = false;
  private failures = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  readonly name: ServiceName;
  readonly port: number;

  constructor(private readonly options: ServiceProcessOptions) {
    this.name = options.name;
    this.port = options.port;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.held = false;
    const main = path.join(REPO_ROOT, 'services', this.name, 'dist', 'main.js');
    const child = spawn(process.execPath, ['--enable-source-maps', main], {
      env: { ...this.options.env, SHOPFLOW_SUPERVISED: '1' },
      // stdin stays open for the child's lifetime: its end tells the service we are gone.
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.startedAt = Date.now();
    pipeLines(child.stdout, (line) => this.options.sink(this.name, line, 'stdout'));
    pipeLines(child.stderr, (line) => this.options.sink(this.name, line, 'stderr'));
    child.once('exit', (code, signal) => {
      this.options.onExit?.(this.name, code, signal);
      if (this.stopping || this.held || this.options.restart === false) return;
      // A service that ran a while before dying starts over with a short backoff.
      this.failures = Date.now() - this.startedAt > 10_000 ? 1 : this.failures + 1;
      const backoff = Math.min(5000, 250 * 2 ** (this.failures - 1));
      this.restartTimer = setTimeout(() => this.start(), backoff);
    });
  }

  /** Resolves when the service answers its readiness check (HTTP /ready, or gRPC health for payment). */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      `${this.name} to be ready on ${this.port}`,
      () => (this.name === 'payment' ? grpcServing(`127.0.0.1:${this.port}`) : httpReady(`http://127.0.0.1:${this.port}`)),
      { timeoutMs, intervalMs: 100 },
    );
  }

  /** Sends a signal. With `holdMs`, a killed process stays down that long before it is restarted. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', { holdMs }: { holdMs?: number } = {}): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    if (holdMs !== undefined) this.held = true;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') return;
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
