import { headers as natsHeaders } from '@nats-io/nats-core';
import type { JetStreamClient, JetStreamManager, JsMsg, StoredMsg } from '@nats-io/jetstream';
import { Stream } from '@shopflow/contracts';

/** Headers a dead letter carries next to the original payload. */
export const DlqHeader = {
  Reason: 'Shopflow-Dlq-Reason',
  Subject: 'Shopflow-Dlq-Subject',
  Consumer: 'Shopflow-Dlq-Consumer',
  StreamSeq: 'Shopflow-Dlq-Stream-Seq',
  Deliveries: 'Shopflow-Dlq-Deliveries',
  MsgId: 'Shopflow-Dlq-Msg-Id',
  At: 'Shopflow-Dlq-At',
} as const;

/** Parks a message in the DLQ stream with the reason it could not be processed. */
export async function deadLetter(js: JetStreamClient, msg: JsMsg, consumer: string, reason: string): Promise<void> {
  const h = natsHeaders();
  for (const [key, values] of msg.headers ?? []) {
    if (key === 'Nats-Msg-Id') h.set(DlqHeader.MsgId, values[0] ?? '');
    else if (!key.startsWith('Nats-')) for (const v of values) h.append(key, v);
  }
  h.set(DlqHeader.Reason, reason.slice(0, 1000).replace(/[\r\n]+/g, ' '));
  h.set(DlqHeader.Subject, msg.subject);
  h.set(DlqHeader.Consumer, consumer);
  h.set(DlqHeader.StreamSeq, String(msg.info.streamSequence));
  h.set(DlqHeader.Deliveries, String(msg.info.deliveryCount));
  h.set(DlqHeader.At, new Date().toISOString());
  await js.publish(`dlq.${consumer}.${msg.subject}`, msg.data, {
    headers: h,
    msgID: `dlq:${consumer}:${msg.info.stream}:${msg.info.streamSequence}`,
  });
}

/** One dead letter as the DLQ command shows it. */
export interface DeadLetter {
  seq: number;
  subject: string;
  consumer: string;
  reason: string;
  deliveries: number;
  at: string;
  payload: string;
}

function toDeadLetter(m: StoredMsg): DeadLetter {
  const get = (k: string) => m.header.get(k) ?? '';
  return {
    seq: m.seq,
    subject: get(DlqHeader.Subject),
    consumer: get(DlqHeader.Consumer),
    reason: get(DlqHeader.Reason),
    deliveries: Number(get(DlqHeader.Deliveries) || 0),
    at: get(DlqHeader.At),
    payload: m.string(),
  };
}

/** Lists the dead letters still parked, oldest first. */
export async function listDeadLetters(jsm: JetStreamManager, limit = 100): Promise<DeadLetter[]> {
  const info = await jsm.streams.info(Stream.DeadLetter.name).catch(() => undefined);
  if (!info || info.state.messages === 0) return [];
  const out: DeadLetter[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && out.length < limit; seq++) {
    const m = await jsm.streams.getMessage(Stream.DeadLetter.name, { seq }).catch(() => null);
    if (m) out.push(toDeadLetter(m));
  }
  return out;
}

/**
 * Publishes a dead letter again on its original subject (a fresh Nats-Msg-Id, so JetStream
 * does not drop it; consumers' inboxes still drop events they already applied) and removes it.
 */
export async function replayDeadLetter(js: JetStreamClient, jsm: JetStreamManager, seq: number): Promise<DeadLetter> {
  const m = await jsm.streams.getMessage(Stream.DeadLetter.name, { seq });
  if (!m) throw new Error(`no dead letter with sequence ${seq}`);
  const letter = toDeadLetter(m);
  const h = natsHeaders();
  for (const [key, values] of m.header) {
    if (!key.startsWith('Shopflow-Dlq-') && !key.startsWith('Nats-')) for (const v of values) h.append(key, v);
  }
  await js.publish(letter.subject, m.data, { headers: h, msgID: `replay:${seq}:${m.header.get(DlqHeader.MsgId) ?? ''}` });
  await jsm.streams.deleteMessage(Stream.DeadLetter.name, seq);
  return letter;
}

/** Which dead letters a bulk replay takes; every field narrows it. */
export interface DeadLetterFilter {
  /** The original subject, e.g. `orders.created`. */
  subject?: string;
  /** The durable consumer that gave up on it, e.g. `saga-orders-created`. */
  consumer?: string;
  /** A piece of the reason. */
  reasonContains?: string;
}

/** Replays every parked dead letter that matches `filter`, oldest first; returns those replayed. */
export async function replayDeadLetters(
  js: JetStreamClient,
  jsm: JetStreamManager,
  filter: DeadLetterFilter = {},
): Promise<DeadLetter[]> {
  const replayed: DeadLetter[] = [];
  for (const letter of await listDeadLetters(jsm, Number.MAX_SAFE_INTEGER)) {
    if (filter.subject && letter.subject !== filter.subject) continue;
    if (filter.consumer && letter.consumer !== filter.consumer) continue;
    if (filter.reasonContains && !letter.reason.includes(filter.reasonContains)) continue;
    replayed.push(await replayDeadLetter(js, jsm, letter.seq));
  }
  return replayed;
}
