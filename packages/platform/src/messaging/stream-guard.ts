import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { Stream } from '@shopflow/contracts';
import { purgeAcknowledged, type StreamSpec } from './streams.js';

/** Fill level at which a stream's acknowledged events are purged to make room. */
const PURGE_AT = 0.8;
/** Fill level /ready calls full: a publish that no longer fits is refused. */
const FULL_AT = 0.95;

export interface StreamGuardOptions {
  /** The service's outbox, whose backlog /ready names while a stream is full. */
  outbox?: { pending(): Promise<number> };
  intervalMs?: number;
}

/**
 * Watches a service's streams: purges what every consumer acknowledged once a stream fills, and
 * reports a stream that is still full, so /ready says why publishes wait in the outbox, or why
 * poison events stay in their stream while the DLQ has no room.
 */
export class StreamGuard {
  private readonly full = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly intervalMs: number;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly streams: readonly StreamSpec[],
    private readonly logger: Logger,
    private readonly options: StreamGuardOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 5000;
  }

  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.running ??= this.inspect().finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Throws naming each full stream and the outbox backlog; a readiness check that is not critical. */
  async assertRoom(): Promise<void> {
    if (this.full.size === 0) return;
    const held = (await this.options.outbox?.pending()) ?? 0;
    const backlog = this.options.outbox ? `; ${held} events wait in the outbox` : '';
    throw new Error(`${[...this.full.values()].join('; ')}${backlog}`);
  }

  /** Looks at every stream once; exposed so a test need not wait for the timer. */
  async inspect(): Promise<void> {
    for (const { name } of this.streams) {
      try {
        await this.inspectStream(name);
      } catch (error) {
        // NATS away: keep the last verdict; the nats check already says it is away.
        this.logger.debug({ err: error, stream: name }, 'cannot inspect stream');
      }
    }
  }

  private async inspectStream(name: string): Promise<void> {
    let { state, config } = await this.jsm.streams.info(name);
    if (config.max_bytes <= 0) return;
    // Dead letters wait for an operator, whoever happens to read them.
    if (state.bytes >= config.max_bytes * PURGE_AT && name !== Stream.DeadLetter.name) {
      const purged = await purgeAcknowledged(this.jsm, name);
      if (purged > 0) {
        this.logger.info({ stream: name, purged }, 'purged acknowledged events to make room');
        ({ state, config } = await this.jsm.streams.info(name));
      }
    }
    const percent = Math.round((state.bytes / config.max_bytes) * 100);
    if (state.bytes < config.max_bytes * FULL_AT) {
      if (this.full.delete(name)) this.logger.info({ stream: name, percent }, 'stream has room again');
      return;
    }
    const verdict =
      name === Stream.DeadLetter.name
        ? `${name} is full (${percent}%): poison events stay unacknowledged in their streams and come back every ack wait until it has room; replay or purge dead letters`
        : `${name} is full (${percent}% of ${config.max_bytes} bytes, ${state.messages} events held, not yet acknowledged by every consumer): publishes are refused`;
    if (!this.full.has(name)) this.logger.error({ stream: name, percent, messages: state.messages }, verdict);
    this.full.set(name, verdict);
  }
}
