import type { Logger } from 'pino';
import type { OrderView } from '@shopflow/contracts/api';

/** What the dashboard's live stream carries, fetched from the services behind the gateway. */
export interface FeedSources {
  /** The newest orders. */
  orders(): Promise<OrderView[]>;
  /** Counts by status (the order service's stats). */
  stats(): Promise<unknown>;
  /** Each service's instances and whether they are ready. */
  health(): Promise<unknown>;
  /** Sagas parked for an operator. */
  parked(): Promise<unknown>;
  /** The dead-letter queue. */
  dlq(): Promise<unknown>;
}

/**
 * The events of the stream. `orders` carries only the orders that changed; `unavailable` says which
 * source failed and why, and again with `detail: null` once it answers.
 */
export type FeedEvent = keyof FeedSources | 'unavailable';

/** Receives every event the feed emits; it must not throw. */
export type FeedListener = (event: FeedEvent, data: unknown) => void;

/** How often the feed polls: orders every tick, counts every `statsEvery` ticks, the rest every `slowEvery`. */
export interface FeedTiming {
  tickMs: number;
  statsEvery: number;
  slowEvery: number;
}

/** Orders every 0.5 s, counts every 2 s, health, parked sagas and dead letters every 5 s. */
export const DEFAULT_FEED_TIMING: FeedTiming = { tickMs: 500, statsEvery: 4, slowEvery: 10 };

/**
 * Polls the services for the dashboard, and only while at least one page listens: the gateway
 * holds no NATS connection, and an idle dashboard costs the system nothing. A page that joins gets
 * the latest of everything at once, then the changes.
 */
export class DashboardFeed {
  private readonly listeners = new Set<FeedListener>();
  private readonly latest = new Map<FeedEvent, unknown>();
  /** What each order in the window looked like at the last poll, to send only the changes. */
  private known = new Map<string, string>();
  /** Sources whose last fetch failed, and why. */
  private readonly failing = new Map<keyof FeedSources, string>();
  private running = false;
  private closed = false;
  private tick = 0;
  private poked = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly sources: FeedSources,
    private readonly logger: Logger,
    private readonly timing: FeedTiming = DEFAULT_FEED_TIMING,
  ) {}

  /** Starts polling if nobody listened yet; the returned function stops listening (and polling, for the last one). */
  subscribe(listener: FeedListener): () => void {
    if (this.closed) throw new Error('the dashboard feed is closed');
    this.listeners.add(listener);
    for (const [event, data] of this.latest) listener(event, data);
    for (const [source, detail] of this.failing) listener('unavailable', { source, detail });
    if (!this.running) {
      this.running = true;
      this.tick = 0;
      this.run().catch((error: unknown) => this.logger.error({ err: error }, 'dashboard feed stopped'));
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.interrupt();
    };
  }

  /** Refreshes everything at once (after an operator's action), rather than at its next turn. */
  poke(): void {
    this.poked = true;
    this.interrupt();
  }

  /** True while the polling loop runs (a page listens, or the last one just left and the loop has yet to see it). */
  get polling(): boolean {
    return this.running;
  }

  /** How many pages listen. */
  get audience(): number {
    return this.listeners.size;
  }

  /** Stops polling for good and forgets every listener. */
  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.interrupt();
  }

  private async run(): Promise<void> {
    try {
      while (this.listeners.size > 0 && !this.closed) {
        const everything = this.tick % this.timing.slowEvery === 0 || this.poked;
        this.poked = false;
        const work = [this.refresh('orders', (orders) => this.ordersChanged(orders))];
        if (everything || this.tick % this.timing.statsEvery === 0) work.push(this.refresh('stats'));
        if (everything) work.push(this.refresh('health'), this.refresh('parked'), this.refresh('dlq'));
        await Promise.all(work);
        this.tick++;
        await this.pause();
      }
    } finally {
      this.running = false;
    }
  }

  /** Fetches one source and emits what it says (or, once per outage, that it failed). */
  private async refresh<K extends keyof FeedSources>(
    source: K,
    toEvent: (data: Awaited<ReturnType<FeedSources[K]>>) => unknown = (data) => data,
  ): Promise<void> {
    let data: Awaited<ReturnType<FeedSources[K]>>;
    try {
      data = (await this.sources[source]()) as Awaited<ReturnType<FeedSources[K]>>;
    } catch (error) {
      if (!this.failing.has(source)) {
        const detail = (error as Error).message;
        this.failing.set(source, detail);
        this.logger.warn({ err: error, source }, 'dashboard source unavailable');
        this.emit('unavailable', { source, detail });
      }
      return;
    }
    if (this.failing.delete(source)) this.emit('unavailable', { source, detail: null });
    const event = toEvent(data);
    if (source === 'orders') this.latest.set('orders', { orders: data });
    else this.latest.set(source, event);
    if (event !== undefined) this.emit(source, event);
  }

  /** The orders that are new or changed since the last poll, as an `orders` event; undefined when none. */
  private ordersChanged(orders: OrderView[]): { orders: OrderView[] } | undefined {
    const fingerprint = (o: OrderView) => `${o.status}|${o.updated_at}|${o.status_reason ?? ''}`;
    const changed = orders.filter((o) => this.known.get(o.id) !== fingerprint(o));
    this.known = new Map(orders.map((o) => [o.id, fingerprint(o)]));
    return changed.length > 0 ? { orders: changed } : undefined;
  }

  private emit(event: FeedEvent, data: unknown): void {
    for (const listener of this.listeners) listener(event, data);
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, this.timing.tickMs);
      // Polling never keeps the process alive on its own.
      this.timer.unref();
    });
  }

  /** Ends the current pause at once: the loop then looks again at its listeners and at `poked`. */
  private interrupt(): void {
    clearTimeout(this.timer);
    this.wake?.();
    this.wake = undefined;
  }
}
