import { openDatabase, type Db } from '@shopflow/platform/db';
import { listDeadLetters, type Messaging } from '@shopflow/platform/messaging';
import { Stream, TERMINAL_ORDER_STATUSES, isTerminalOrderStatus } from '@shopflow/contracts';

const TERMINAL_SQL = TERMINAL_ORDER_STATUSES.map((s) => `'${s}'`).join(',');

type Urls = Record<'order' | 'payment' | 'inventory' | 'notification' | 'saga', string>;

interface OrderRow {
  id: string;
  status: string;
  product_id: string;
  quantity: number;
  amount_minor: number;
}
interface ReservationRow {
  order_id: string;
  product_id: string | null;
  quantity: number;
  status: string;
}
interface ProductRow {
  product_id: string;
  available: number;
  reserved: number;
  sold: number;
}
interface PaymentRow {
  order_id: string;
  status: string;
  amount_minor: number;
}
interface NotificationRow {
  order_id: string;
  order_status: string;
}
interface SagaRow {
  order_id: string;
  state: string;
  parked: number;
  reason: string | null;
}

/** The five service databases, opened for reading what the services wrote. */
export class SystemDatabases {
  private constructor(private readonly dbs: Record<keyof Urls, Db>) {}

  static async open(urls: Urls): Promise<SystemDatabases> {
    const entries = await Promise.all(Object.entries(urls).map(async ([k, url]) => [k, await openDatabase(url)] as const));
    return new SystemDatabases(Object.fromEntries(entries) as Record<keyof Urls, Db>);
  }

  get(service: keyof Urls): Db {
    return this.dbs[service];
  }

  async outboxBacklog(): Promise<number> {
    let total = 0;
    for (const s of ['order', 'payment', 'saga'] as const) {
      total += Number((await this.dbs[s].query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox'))[0]?.n ?? 0);
    }
    return total;
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.dbs).map((d) => d.close()));
  }
}

/** Messages JetStream has not delivered or not had acknowledged, over every durable consumer. */
export async function consumerBacklog(messaging: Messaging): Promise<number> {
  let total = 0;
  for (const stream of [Stream.Orders, Stream.Payments, Stream.Saga]) {
    const consumers = await messaging.jsm.consumers.list(stream.name).next();
    for (const c of consumers) total += c.num_pending + c.num_ack_pending;
  }
  return total;
}

export async function deadLetterCount(messaging: Messaging): Promise<number> {
  const info = await messaging.jsm.streams.info(Stream.DeadLetter.name).catch(() => undefined);
  return info?.state.messages ?? 0;
}

/** The dead letters grouped by consumer and reason, most frequent first: why events were given up on. */
export async function deadLetterReasons(messaging: Messaging, limit = 5000): Promise<string[]> {
  const counts = new Map<string, number>();
  for (const letter of await listDeadLetters(messaging.jsm, limit)) {
    const key = `${letter.consumer} (${letter.subject}): ${letter.reason}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].sort(([, a], [, b]) => b - a).map(([key, n]) => `${n}× ${key}`);
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Violations that differ only in their order id, told once with a count, in the order they first came. */
export function violationKinds(violations: readonly string[]): string[] {
  const kinds = new Map<string, { n: number; first: string }>();
  for (const v of violations) {
    const kind = v.replace(UUID, '<id>');
    const seen = kinds.get(kind);
    if (seen) seen.n++;
    else kinds.set(kind, { n: 1, first: v });
  }
  return [...kinds.entries()].map(([kind, { n, first }]) => (n === 1 ? first : `${n}× ${kind}`));
}

/** How often each kind of saga step outcome happened: shows which paths a run exercised. */
export async function sagaPaths(dbs: SystemDatabases): Promise<string> {
  const rows = await dbs.get('saga').query<{ steps: string }>('SELECT steps FROM sagas');
  const counts = new Map<string, number>();
  for (const r of rows) {
    for (const s of JSON.parse(r.steps) as { action: string; result: string }[]) {
      const key = `${s.action}:${s.result}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
}

export interface Counts {
  orders: number;
  completed: number;
  cancelled: number;
  failed: number;
  notTerminal: number;
}

/** Whether the system is quiet: every order settled, every saga over, every outbox and consumer drained. */
export async function quiet(dbs: SystemDatabases, messaging: Messaging): Promise<{ quiet: boolean; detail: string }> {
  const [orders] = await dbs
    .get('order')
    .query<{ n: number }>(`SELECT COUNT(*) AS n FROM orders WHERE status NOT IN (${TERMINAL_SQL})`);
  const [sagas] = await dbs
    .get('saga')
    .query<{ n: number }>(`SELECT COUNT(*) AS n FROM sagas WHERE state IN ('RUNNING','COMPENSATING')`);
  const outbox = await dbs.outboxBacklog();
  const consumers = await consumerBacklog(messaging);
  const open = Number(orders?.n ?? 0);
  const running = Number(sagas?.n ?? 0);
  return {
    quiet: open === 0 && running === 0 && outbox === 0 && consumers === 0,
    detail: `open orders ${open}, running sagas ${running}, outbox ${outbox}, unacked ${consumers}`,
  };
}

/**
 * Checks DESIGN.md's invariants over the whole system and returns every violation found.
 * `acknowledged` are the orders a client got a 201 for (empty when the client only counted them);
 * `initialStock` the stock each product started with: every order for those products is checked.
 */
export async function checkInvariants(
  dbs: SystemDatabases,
  messaging: Messaging,
  acknowledged: ReadonlyMap<string, { productId: string; quantity: number; amount: number }>,
  initialStock: ReadonlyMap<string, number>,
): Promise<{ violations: string[]; counts: Counts }> {
  const v: string[] = [];
  const orders = await dbs.get('order').query<OrderRow>('SELECT id, status, product_id, quantity, amount_minor FROM orders');
  const byId = new Map(orders.map((o) => [o.id, o]));
  const chaosOrders = orders.filter((o) => initialStock.has(o.product_id));

  // No acknowledged order lost, and every order ended.
  for (const [id, placed] of acknowledged) {
    const o = byId.get(id);
    if (!o) v.push(`acknowledged order ${id} is missing`);
    else if (o.product_id !== placed.productId || Number(o.quantity) !== placed.quantity)
      v.push(`order ${id} differs from what was placed`);
  }
  for (const o of orders) if (!isTerminalOrderStatus(o.status)) v.push(`order ${o.id} is stuck in ${o.status}`);

  // Stock: initial = available + reserved + sold, nothing reserved for an ended order, sold = committed.
  const products = await dbs.get('inventory').query<ProductRow>('SELECT product_id, available, reserved, sold FROM products');
  const reservations = await dbs
    .get('inventory')
    .query<ReservationRow>('SELECT order_id, product_id, quantity, status FROM reservations');
  const reservationOf = new Map(reservations.map((r) => [r.order_id, r]));
  for (const [productId, initial] of initialStock) {
    const p = products.find((x) => x.product_id === productId);
    if (!p) {
      v.push(`product ${productId} is missing`);
      continue;
    }
    const [available, reserved, sold] = [Number(p.available), Number(p.reserved), Number(p.sold)];
    if (available + reserved + sold !== initial)
      v.push(`product ${productId}: ${available} + ${reserved} + ${sold} != initial ${initial}`);
    const held = reservations
      .filter((r) => r.product_id === productId && r.status === 'RESERVED')
      .reduce((n, r) => n + Number(r.quantity), 0);
    const committed = reservations
      .filter((r) => r.product_id === productId && r.status === 'COMMITTED')
      .reduce((n, r) => n + Number(r.quantity), 0);
    if (reserved !== held) v.push(`product ${productId}: reserved ${reserved} but reservations hold ${held}`);
    if (sold !== committed) v.push(`product ${productId}: sold ${sold} but committed reservations hold ${committed}`);
  }
  for (const r of reservations) {
    if (initialStock.has(r.product_id ?? '') && (r.status === 'RESERVED' || r.status === 'COMMITTED') && !byId.has(r.order_id))
      v.push(`${r.status} reservation for unknown order ${r.order_id}`);
  }
  for (const o of chaosOrders) {
    const r = reservationOf.get(o.id);
    if (o.status === 'COMPLETED') {
      if (r?.status !== 'COMMITTED' || Number(r.quantity) !== Number(o.quantity))
        v.push(`completed order ${o.id} has reservation ${r?.status ?? 'none'}`);
    } else if (r && (r.status === 'RESERVED' || r.status === 'COMMITTED')) {
      v.push(`${o.status} order ${o.id} still holds a ${r.status} reservation`);
    }
  }

  // Money: at most one charge per order, a completed order charged exactly once, any other refunded or never charged.
  const payments = await dbs.get('payment').query<PaymentRow>('SELECT order_id, status, amount_minor FROM payments');
  const paymentsOf = new Map<string, PaymentRow[]>();
  for (const p of payments) paymentsOf.set(p.order_id, [...(paymentsOf.get(p.order_id) ?? []), p]);
  for (const [orderId, list] of paymentsOf) {
    if (list.length > 1) v.push(`order ${orderId} has ${list.length} payments`);
    if (!byId.has(orderId)) v.push(`payment for unknown order ${orderId}`);
  }
  for (const o of chaosOrders) {
    const p = paymentsOf.get(o.id)?.[0];
    if (o.status === 'COMPLETED') {
      if (p?.status !== 'SUCCESS') v.push(`completed order ${o.id} has payment ${p?.status ?? 'none'}`);
      else if (Number(p.amount_minor) !== Number(o.amount_minor))
        v.push(`order ${o.id} charged ${p.amount_minor}, not ${o.amount_minor}`);
    } else if (p?.status === 'SUCCESS') {
      v.push(`${o.status} order ${o.id} was charged and not refunded`);
    }
  }

  // Exactly one notification per ended order, telling its final status.
  const notes = await dbs.get('notification').query<NotificationRow>('SELECT order_id, order_status FROM notifications');
  const notesOf = new Map<string, NotificationRow[]>();
  for (const n of notes) notesOf.set(n.order_id, [...(notesOf.get(n.order_id) ?? []), n]);
  for (const o of orders) {
    if (!isTerminalOrderStatus(o.status)) continue;
    const list = notesOf.get(o.id) ?? [];
    if (list.length !== 1) v.push(`order ${o.id} (${o.status}) has ${list.length} notifications`);
    else if (list[0]!.order_status !== o.status) v.push(`order ${o.id} is ${o.status} but was notified ${list[0]!.order_status}`);
  }
  for (const orderId of notesOf.keys()) if (!byId.has(orderId)) v.push(`notification for unknown order ${orderId}`);

  // Sagas over, none parked, each agreeing with its order; outboxes and the DLQ empty.
  const sagas = await dbs.get('saga').query<SagaRow>('SELECT order_id, state, parked, reason FROM sagas');
  const sagaOf = new Map(sagas.map((s) => [s.order_id, s]));
  for (const o of orders) {
    const s = sagaOf.get(o.id);
    if (!s) v.push(`order ${o.id} has no saga`);
    else if (Number(s.parked) === 1) v.push(`saga ${o.id} is parked: ${s.reason}`);
    else if (s.state !== o.status) v.push(`saga ${o.id} is ${s.state} but its order is ${o.status}`);
  }
  for (const s of sagas) if (!byId.has(s.order_id)) v.push(`saga for unknown order ${s.order_id}`);
  const outbox = await dbs.outboxBacklog();
  if (outbox > 0) v.push(`${outbox} events still in outboxes`);
  const letters = await deadLetterCount(messaging);
  if (letters > 0) {
    const reasons = await deadLetterReasons(messaging);
    v.push(`${letters} dead letters: ${reasons.slice(0, 5).join('; ')}${reasons.length > 5 ? '; …' : ''}`);
  }

  const count = (status: string) => orders.filter((o) => o.status === status).length;
  return {
    violations: v,
    counts: {
      orders: orders.length,
      completed: count('COMPLETED'),
      cancelled: count('CANCELLED'),
      failed: count('FAILED'),
      notTerminal: orders.filter((o) => !isTerminalOrderStatus(o.status)).length,
    },
  };
}
