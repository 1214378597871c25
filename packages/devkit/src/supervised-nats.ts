import { NatsServer, type NatsServerOptions } from './nats-server.js';
import { OutputTail, RestartBudget, type GiveUp, type RestartPolicy } from './restart-budget.js';

export interface SupervisedNatsOptions extends NatsServerOptions {
  /** Backoff and crash-loop budget; DEFAULT_RESTART_POLICY for what is not given. */
  restartPolicy?: Partial<RestartPolicy>;
  /** Told about every unexpected exit, with the delay before the restart, or undefined on a give-up. */
  onExit?: (code: number | null, signal: NodeJS.Signals | null, restartInMs: number | undefined) => void;
  /** Told when a restarted server answers its health check again. */
  onRestart?: () => void;
  /** Told once, after that exit, when the crash-loop budget is spent: the server is not restarted again. */
  onGiveUp?: (report: GiveUp) => void;
}

/**
 * The nats-server `npm start` launches: started again on the same port and store whenever it
 * dies, with the same backoff and crash-loop budget as the services.
 */
export class SupervisedNats {
  private stopping = false;
  private givenUp = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly budget: RestartBudget;

  private constructor(
    readonly server: NatsServer,
    private readonly tail: OutputTail,
    private readonly options: SupervisedNatsOptions,
    private startedAt: number,
  ) {
    this.budget = new RestartBudget(options.restartPolicy);
  }

  /** Starts the server and waits until JetStream is healthy; from then on it is watched. */
  static async start(options: SupervisedNatsOptions = {}): Promise<SupervisedNats> {
    const tail = new OutputTail();
    const startedAt = Date.now();
    const log = (line: string) => {
      tail.push(line);
      options.log?.(line);
    };
    const server = await NatsServer.start({ ...options, log });
    const supervised = new SupervisedNats(server, tail, options, startedAt);
    server.onExit = (code, signal) => supervised.exited(code, signal);
    return supervised;
  }

  get url(): string {
    return this.server.url;
  }

  /** True once the crash-loop budget is spent. */
  get gaveUp(): boolean {
    return this.givenUp;
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping) return;
    const verdict = this.budget.crashed(Date.now() - this.startedAt);
    if (verdict.giveUp) {
      this.givenUp = true;
      this.options.onExit?.(code, signal, undefined);
      const { windowMs } = this.budget.policy;
      this.options.onGiveUp?.({ name: 'nats-server', crashes: verdict.crashes, windowMs, code, signal, tail: this.tail.lines });
      return;
    }
    this.options.onExit?.(code, signal, verdict.delayMs);
    this.restartTimer = setTimeout(() => {
      this.startedAt = Date.now();
      this.server.restart().then(
        () => this.options.onRestart?.(),
        // A server that exits while starting is judged by exited(), like any other exit.
        () => undefined,
      );
    }, verdict.delayMs);
  }

  /** Stops watching, then stops the server (SIGTERM). */
  async stop({ removeStore = false } = {}): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    await this.server.stop({ removeStore });
  }
}
