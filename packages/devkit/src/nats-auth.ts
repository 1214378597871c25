import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SERVICE_EVENTS, Stream, streamOf, type ServiceEvents } from '@shopflow/contracts';
import { SERVICE_NAMES, type NatsAuth, type ServiceName } from '@shopflow/platform/config';
import type { StreamSpec } from '@shopflow/platform/messaging';
import { REGISTRY_BUCKET, REGISTRY_STREAM } from '@shopflow/platform/registry';
import { durableName, streamsOf } from '@shopflow/platform/service';

/** Subjects a NATS user may publish to and subscribe on (wildcards allowed). */
export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
}

/** A user of a nats-server we start; without `permissions` it may do anything. Usable as a `NatsAuth`. */
export interface NatsUser {
  user: string;
  password: string;
  permissions?: NatsPermissions;
}

/** The users of a nats-server we start: one per service (all register with discovery), and the operator. */
export interface NatsUsers {
  services: Partial<Record<ServiceName, NatsUser>>;
  /** Unrestricted: for the tools (dlq, chaos, bench), never for a service. */
  admin: NatsUser;
}

type NatsService = keyof typeof SERVICE_EVENTS;

/**
 * The service that serves the DLQ to operators (`GET /dlq`, `POST /dlq/:seq/replay`). Replaying
 * publishes a dead letter again on its own subject, so this service may also publish every
 * consumed subject. The orchestrator already commands every order's ending (`saga.order-status`,
 * which raises `orders.completed` and its siblings), so this widens what it could forge but little.
 */
export const DLQ_KEEPER: NatsService = 'saga';

/**
 * What a service may do on NATS, derived from `SERVICE_EVENTS`: publish its own subjects; make the
 * JetStream API calls for its own streams and durables; ack and dead-letter what its durables
 * receive; take replies on `_INBOX.>`. Every service (one without events too) may also make the
 * discovery bucket, write its own instances' keys there, and read everyone's.
 */
export function natsPermissions(service: ServiceName): NatsPermissions {
  const { publishes, consumes }: ServiceEvents = eventsOf(service);
  const publish = [
    '$JS.API.INFO',
    ...['INFO', 'CREATE'].map((op) => `$JS.API.STREAM.${op}.${REGISTRY_STREAM}`),
    `$KV.${REGISTRY_BUCKET}.${service}.>`,
    `$JS.API.DIRECT.GET.${REGISTRY_STREAM}.$KV.${REGISTRY_BUCKET}.>`,
    ...serviceStreams(service).flatMap(({ name }) => ['INFO', 'CREATE', 'UPDATE'].map((op) => `$JS.API.STREAM.${op}.${name}`)),
    ...publishes,
    ...consumes.flatMap((subject) => {
      const stream = streamOf(subject).name;
      const durable = durableName(service, subject);
      return [
        // The client creates (and updates) a durable with its filter subject in the API subject.
        `$JS.API.CONSUMER.CREATE.${stream}.${durable}.${subject}`,
        `$JS.API.CONSUMER.INFO.${stream}.${durable}`,
        `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
        `$JS.ACK.${stream}.${durable}.>`,
        `dlq.${durable}.>`,
      ];
    }),
  ];
  if (service === DLQ_KEEPER) {
    const consumed = Object.values(SERVICE_EVENTS).flatMap((events: ServiceEvents) => events.consumes);
    publish.push(
      `$JS.API.STREAM.MSG.GET.${Stream.DeadLetter.name}`,
      `$JS.API.STREAM.MSG.DELETE.${Stream.DeadLetter.name}`,
      ...new Set(consumed.filter((subject) => !publish.includes(subject))),
    );
  }
  return { publish, subscribe: ['_INBOX.>'] };
}

function eventsOf(service: ServiceName): ServiceEvents {
  return Object.hasOwn(SERVICE_EVENTS, service) ? SERVICE_EVENTS[service as NatsService] : { publishes: [], consumes: [] };
}

/** The streams a service creates at start-up (as `startService` derives them from its definition). */
export function serviceStreams(service: ServiceName): StreamSpec[] {
  const { publishes, consumes }: ServiceEvents = eventsOf(service);
  return streamsOf({ publishes, consumes: Object.fromEntries(consumes.map((s) => [s, true])) });
}

/** Fresh users with random passwords, for one start of a nats-server. */
export function createNatsUsers(): NatsUsers {
  const password = () => crypto.randomBytes(24).toString('base64url');
  const services: NatsUsers['services'] = {};
  for (const service of SERVICE_NAMES) {
    services[service] = { user: service, password: password(), permissions: natsPermissions(service) };
  }
  return { services, admin: { user: 'admin', password: password() } };
}

/** The nats-server configuration (its format accepts JSON) that admits exactly `users`. */
export function natsServerConfig(users: NatsUsers): string {
  const entry = ({ user, password, permissions }: NatsUser) => ({
    user,
    password,
    ...(permissions && {
      permissions: { publish: { allow: permissions.publish }, subscribe: { allow: permissions.subscribe } },
    }),
  });
  return JSON.stringify({ authorization: { users: [...Object.values(users.services), users.admin].map(entry) } }, null, 2);
}

/**
 * The environment that makes `service` connect as its own user. Inherited credentials are blanked,
 * so a service without a user (it does not use NATS) carries none. Empty when `users` is undefined.
 */
export function natsServiceEnv(users: NatsUsers | undefined, service: ServiceName): Record<string, string> {
  if (!users) return {};
  const own = users.services[service];
  return { NATS_CREDS: '', NATS_USER: own?.user ?? '', NATS_PASSWORD: own?.password ?? '' };
}

const ADMIN_FILE = 'admin-credentials.json';

/** Leaves the operator's credentials in `dir` (owner-only) for the tools run beside `npm start`. */
export function saveAdminCredentials(dir: string, admin: NatsUser): void {
  writeOwnerOnly(path.join(dir, ADMIN_FILE), JSON.stringify({ user: admin.user, password: admin.password }));
}

/** Writes a file that holds passwords: readable by its owner only, even if it existed before. */
export function writeOwnerOnly(file: string, text: string): void {
  fs.writeFileSync(file, text, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/** The operator's credentials that `npm start` left in `dir`, if any. */
export function readAdminCredentials(dir: string): NatsAuth | undefined {
  try {
    const { user, password } = JSON.parse(fs.readFileSync(path.join(dir, ADMIN_FILE), 'utf8')) as Record<string, unknown>;
    return typeof user === 'string' && typeof password === 'string' ? { user, password } : undefined;
  } catch {
    return undefined;
  }
}
