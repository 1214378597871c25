import { headers as natsHeaders } from '@nats-io/nats-core';
import type { ServiceName } from '@shopflow/platform/config';
import type { Messaging } from '@shopflow/platform/messaging';
import { Stream } from '@shopflow/contracts';
import type { TestSystem } from '../system.js';
import type { Prng } from './prng.js';

export type Say = (text: string) => void;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every service, killed with SIGKILL one after another (in a seeded order), each back after a short pause. */
export async function killEachService(system: TestSystem, prng: Prng, say: Say): Promise<number> {
  const order = prng.shuffle<ServiceName>(['order', 'payment', 'inventory', 'saga', 'notification', 'gateway']);
  for (const name of order) {
    const pauseMs = prng.int(300, 2000);
    say(`kill -9 ${name} (back in ${pauseMs} ms)`);
    await system.services[name].kill('SIGKILL', { holdMs: pauseMs });
    await system.services[name].waitReady();
    await sleep(prng.int(500, 1500));
  }
  return order.length;
}

/** nats-server killed with SIGKILL and started again on the same store. */
export async function killNats(system: TestSystem, prng: Prng, say: Say): Promise<number> {
  if (!system.nats) return 0;
  const pauseMs = prng.int(500, 2000);
  say(`kill -9 nats-server (back in ${pauseMs} ms, same store)`);
  await system.nats.kill('SIGKILL');
  await sleep(pauseMs);
  await system.nats.restart();
  await sleep(prng.int(1000, 2000));
  return 1;
}

/** A service frozen with SIGSTOP for longer than the consumers' ack wait, then SIGCONT. */
export async function freeze(system: TestSystem, name: ServiceName, forMs: number, say: Say): Promise<number> {
  say(`SIGSTOP ${name} for ${forMs} ms`);
  await system.services[name].kill('SIGSTOP');
  await sleep(forMs);
  await system.services[name].kill('SIGCONT');
  say(`SIGCONT ${name}`);
  return 1;
}

/**
 * Events delivered again and out of order: the last messages of each stream are published again,
 * shuffled, under fresh Nats-Msg-Ids (so JetStream's de-duplication does not drop them and only the
 * consumers' inboxes stand between them and a second effect).
 */
export async function duplicateAndReorder(messaging: Messaging, prng: Prng, say: Say, perStream = 150): Promise<number> {
  const copies: { subject: string; data: Uint8Array; headers: [string, string][] }[] = [];
  for (const stream of [Stream.Orders, Stream.Saga, Stream.Payments]) {
    const info = await messaging.jsm.streams.info(stream.name);
    const first = Math.max(info.state.first_seq, info.state.last_seq - perStream + 1);
    for (let seq = first; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await messaging.jsm.streams.getMessage(stream.name, { seq }).catch(() => null);
      if (!m) continue;
      const h: [string, string][] = [];
      for (const [k, values] of m.header ?? []) if (!k.startsWith('Nats-')) for (const value of values) h.push([k, value]);
      copies.push({ subject: m.subject, data: m.data, headers: h });
    }
  }
  const shuffled = prng.shuffle(copies);
  say(`re-publishing ${shuffled.length} events, shuffled, under new message ids`);
  for (const c of shuffled) {
    const h = natsHeaders();
    for (const [k, value] of c.headers) h.append(k, value);
    await messaging.js.publish(c.subject, c.data, { headers: h, msgID: `chaos-dup-${prng.id()}` });
  }
  return 1;
}
