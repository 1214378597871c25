import { StorageType } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { Messaging } from '../messaging/connection.js';
import { Health, type Instance, type Registration, type Registry } from './types.js';

/** The JetStream key-value bucket of the NATS registry: one key `<service>.<id>` per live instance. */
export const REGISTRY_BUCKET = 'instances';
/** The stream behind the bucket, as JetStream names it (NATS permissions are granted on it). */
export const REGISTRY_STREAM = `KV_${REGISTRY_BUCKET}`;

/**
 * The registry on a JetStream key-value bucket: no server besides NATS. nats-server 2.9 has no
 * per-key TTL, so the bucket's own max age (`ttlMs`, about three heartbeats) is what forgets an
 * instance that stopped renewing its key; a clean shutdown deletes the key at once.
 * The bucket is made by whoever comes first, with that one's TTL.
 */
export function natsRegistry(messaging: Messaging, { ttlMs }: { ttlMs: number }): Registry {
  let opening: Promise<KV> | undefined;
  let self: Registration | undefined;
  const bucket = () => {
    // Memory storage: the registry is rebuilt by the next heartbeats after a NATS restart.
    opening ??= new Kvm(messaging.js).create(REGISTRY_BUCKET, { ttl: ttlMs, history: 1, storage: StorageType.Memory });
    // A failure (NATS away) is not kept: the next call opens it again.
    opening.catch(() => (opening = undefined));
    return opening;
  };
  const put = async (health: Health) => {
    if (!self) throw new Error('not registered');
    const instance: Instance = { ...self, health, lastSeen: new Date().toISOString() };
    await (await bucket()).put(keyOf(self), JSON.stringify(instance));
  };
  return {
    async register(registration, health) {
      self = registration;
      await put(health);
    },
    heartbeat: put,
    async deregister() {
      if (!self) return;
      const key = keyOf(self);
      self = undefined;
      await (await bucket()).delete(key);
    },
    async list(service, options = {}) {
      const kv = await bucket();
      // The stream's subjects are the keys with a message left (deleted keys keep a marker, skipped below).
      const prefix = `$KV.${REGISTRY_BUCKET}.`;
      const info = await messaging.jsm.streams.info(REGISTRY_STREAM, {
        subjects_filter: `${prefix}${service === undefined ? '>' : `${service}.>`}`,
      });
      const instances: Instance[] = [];
      for (const subject of Object.keys(info.state.subjects ?? {})) {
        const entry = await kv.get(subject.slice(prefix.length));
        if (entry?.operation !== 'PUT') continue;
        const instance = entry.json<Instance>();
        if (options.passingOnly && instance.health !== Health.Passing) continue;
        instances.push(instance);
      }
      return sortInstances(instances);
    },
  };
}

function keyOf(instance: Registration): string {
  return `${instance.service}.${instance.id}`;
}

/** By service, then by start time, so listings are stable. */
export function sortInstances(instances: Instance[]): Instance[] {
  return instances.sort(
    (a, b) => a.service.localeCompare(b.service) || a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id),
  );
}
