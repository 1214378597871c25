import { Prng } from './prng.js';

export interface LoadOptions {
  gatewayUrl: string;
  /** `Authorization` headers for a customer (TestSystem's `authorization`). */
  authorization: (customerId: string) => Promise<Record<string, string>>;
  products: readonly string[];
  /** Orders started per second (all workers together). */
  rate: number;
  /** Fraction of orders the client asks to cancel shortly after placing them. */
  cancelRate: number;
  seed: number;
}

export interface LoadResult {
  /** Orders the system answered 201 for: every one of them must reach a terminal state. */
  acknowledged: Map<string, { productId: string; quantity: number; amount: number }>;
  /** Requests retried after a network error or a 5xx (same Idempotency-Key). */
  retries: number;
  /** 4xx answers to order placement (none are expected). */
  rejected: number;
  cancelRequests: number;
}

/** How the system answered one order request (status 0: no answer in time, or no connection). */
export interface ProbeAnswer {
  status: number;
  retryAfter: string | null;
  ms: number;
  detail: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A client that keeps placing orders through the gateway until stopped. Each order has its own
 * Idempotency-Key, so an order whose answer was lost to a fault is retried without being placed twice.
 */
export class LoadGenerator {
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly prng: Prng;
  readonly result: LoadResult = { acknowledged: new Map(), retries: 0, rejected: 0, cancelRequests: 0 };
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly options: LoadOptions) {
    this.prng = new Prng(options.seed);
  }

  start(): void {
    this.running = this.loop();
  }

  /** Stops starting orders and waits until every started order has its answer. */
  async stop(): Promise<LoadResult> {
    this.stopped = true;
    await this.running;
    await Promise.all(this.inflight);
    return this.result;
  }

  /** One order for the first product, tried once within `timeoutMs`; a 201 counts as acknowledged. */
  async probe(timeoutMs = 10_000): Promise<ProbeAnswer> {
    const productId = this.options.products[0]!;
    const auth = await this.options.authorization('chaos-probe');
    const started = Date.now();
    try {
      const res = await fetch(`${this.options.gatewayUrl}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': this.prng.id(), ...auth },
        body: JSON.stringify({ customer_id: 'chaos-probe', product_id: productId, quantity: 1, amount: 1 }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      if (res.status === 201) {
        const { id } = JSON.parse(text) as { id: string };
        this.result.acknowledged.set(id, { productId, quantity: 1, amount: 1 });
      }
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        ms: Date.now() - started,
        detail: text.slice(0, 200),
      };
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return { status: 0, retryAfter: null, ms: Date.now() - started, detail };
    }
  }

  private async loop(): Promise<void> {
    const interval = 1000 / this.options.rate;
    let next = Date.now();
    while (!this.stopped) {
      const order = {
        key: this.prng.id(),
        productId: this.prng.pick(this.options.products),
        quantity: this.prng.int(1, 3),
        amount: this.prng.int(100, 50_000) / 100,
        cancelAfterMs: this.prng.next() < this.options.cancelRate ? this.prng.int(0, 400) : undefined,
      };
      const p = this.place(order).finally(() => this.inflight.delete(p));
      this.inflight.add(p);
      next += interval;
      await sleep(Math.max(0, next - Date.now()));
    }
  }

  private async place(order: {
    key: string;
    productId: string;
    quantity: number;
    amount: number;
    cancelAfterMs: number | undefined;
  }): Promise<void> {
    const customerId = `chaos-${order.key.slice(0, 4)}`;
    const auth = await this.options.authorization(customerId);
    const body = JSON.stringify({
      customer_id: customerId,
      product_id: order.productId,
      quantity: order.quantity,
      amount: order.amount,
    });
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(`${this.options.gatewayUrl}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': order.key, ...auth },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        const answer = (await res.json().catch(() => ({}))) as { id?: string };
        if (res.status === 201 && answer.id) {
          this.result.acknowledged.set(answer.id, { productId: order.productId, quantity: order.quantity, amount: order.amount });
          if (order.cancelAfterMs !== undefined) await this.cancel(answer.id, order.cancelAfterMs, auth);
          return;
        }
        if (res.status < 500) {
          this.result.rejected++;
          return;
        }
      } catch {
        // the gateway or the order service is down: retry with the same key
      }
      this.result.retries++;
      if (attempt > 200) return; // the system never came back: the invariant check will say so
      await sleep(Math.min(2000, 50 * attempt));
    }
  }

  private async cancel(orderId: string, afterMs: number, auth: Record<string, string>): Promise<void> {
    await sleep(afterMs);
    this.result.cancelRequests++;
    for (let attempt = 1; attempt <= 50; attempt++) {
      try {
        const res = await fetch(`${this.options.gatewayUrl}/orders/${orderId}/status`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...auth },
          body: '"CANCELLED"',
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        if (res.status < 500) return; // 200 cancelled, or 409 because it already ended
      } catch {
        // down: try again
      }
      await sleep(Math.min(2000, 50 * attempt));
    }
  }
}
