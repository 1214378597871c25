import { headers as natsHeaders } from '@nats-io/nats-core';
import type { ServiceName } from '@shopflow/platform/config';
import type { Messaging } from '@shopflow/platform/messaging';
import { Stream } from '@shopflow/contracts';
import type { TestSystem } from '../system.js';
import type { ProbeAnswer } from './load.js';
import type { Prng } from './prng.js';

export type Say = (text: string) => void;

/** What every fault needs; `problems` collects what went wrong while injecting (reported as violations). */
export interface FaultContext {
  system: TestSystem;
  prng: Prng;
  say: Say;
  problems: string[];
  /** Places one order through the gateway, once. */
  probeOrder: (timeoutMs: number) => Promise<ProbeAnswer>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// SHUTDOWN_TIMEOUT_MS (10 s by default) and some: a service that takes longer ignored it.
const TERM_GRACE_MS = 15_000;
// A service restarted while NATS is down must be ready by then: NATS is not critical to /ready.
const READY_WITHOUT_NATS_MS = 20_000;
// After a database outage, crash-looping services come back within the supervisor's 5 s backoff.
const READY_AFTER_OUTAGE_MS = 60_000;
// An order placed this long into a database outage must be answered 503 within the timeout.
const PROBE_AFTER_MS = 3000;
const PROBE_TIMEOUT_MS = 5000;

function problem(ctx: FaultContext, text: string): void {
  ctx.problems.push(text);
  ctx.say(`PROBLEM ${text}`);
}

/** SIGKILL or SIGTERM, as the seed says. */
function pickSignal(prng: Prng): 'SIGKILL' | 'SIGTERM' {
  return prng.next() < 0.5 ? 'SIGKILL' : 'SIGTERM';
}

/** Takes a service down with `signal` and starts it again `holdMs` after it exited. */
async function restartService(ctx: FaultContext, name: ServiceName, signal: 'SIGKILL' | 'SIGTERM', holdMs: number) {
  const service = ctx.system.services[name];
  const timer =
    signal === 'SIGTERM'
      ? setTimeout(() => {
          problem(ctx, `${name} did not exit within ${TERM_GRACE_MS} ms of SIGTERM`);
          void service.kill('SIGKILL');
        }, TERM_GRACE_MS + holdMs)
      : undefined;
  await service.kill(signal, { holdMs });
  clearTimeout(timer);
}

/** Waits for a service to be ready; a deadline missed is a problem, not the end of the run. */
async function ready(ctx: FaultContext, name: ServiceName, timeoutMs: number, when: string): Promise<boolean> {
  try {
    await ctx.system.services[name].waitReady(timeoutMs);
    return true;
  } catch {
    problem(ctx, `${name} was not ready within ${timeoutMs} ms ${when}`);
    return false;
  }
}

/** The services' pids now, for `survived`. */
function pids(ctx: FaultContext): Map<ServiceName, number | undefined> {
  return new Map(Object.values(ctx.system.services).map((s) => [s.name, s.pid]));
}

/** Reports every service whose process is not the one it was `before`: it died meanwhile. */
function survived(ctx: FaultContext, before: Map<ServiceName, number | undefined>, what: string): void {
  for (const [name, pid] of before)
    if (ctx.system.services[name].pid !== pid) problem(ctx, `${name} died during ${what} (it must ride it out)`);
}

async function allReady(ctx: FaultContext, timeoutMs: number, when: string): Promise<void> {
  await Promise.all(Object.values(ctx.system.services).map((s) => ready(ctx, s.name, timeoutMs, when)));
}

/** Every service taken down (SIGKILL or SIGTERM) one after another, in a seeded order, each back after a short pause. */
export async function restartEachService(ctx: FaultContext): Promise<number> {
  const order = ctx.prng.shuffle<ServiceName>(['order', 'payment', 'inventory', 'saga', 'notification', 'gateway']);
  for (const name of order) {
    const signal = pickSignal(ctx.prng);
    const pauseMs = ctx.prng.int(300, 2000);
    ctx.say(`${signal === 'SIGKILL' ? 'kill -9' : 'SIGTERM'} ${name} (back in ${pauseMs} ms)`);
    await restartService(ctx, name, signal, pauseMs);
    await ready(ctx, name, 60_000, 'after its restart');
    await sleep(ctx.prng.int(500, 1500));
  }
  return order.length;
}

/** nats-server killed with SIGKILL and started again on the same store. */
export async function killNats(ctx: FaultContext): Promise<number> {
  const nats = ctx.system.nats;
  if (!nats) return 0;
  const pauseMs = ctx.prng.int(500, 2000);
  ctx.say(`kill -9 nats-server (back in ${pauseMs} ms, same store)`);
  await nats.kill('SIGKILL');
  await sleep(pauseMs);
  await nats.restart();
  await sleep(ctx.prng.int(1000, 2000));
  return 1;
}

/**
 * nats-server killed, and while it is down the order service and one other are restarted: each
 * must start and get ready without NATS; then an order placed must be taken (into the outbox), or
 * refused at once at capacity when the backlog is already at its bound.
 */
export async function restartDuringNatsOutage(ctx: FaultContext): Promise<number> {
  const nats = ctx.system.nats;
  if (!nats) return 0;
  const names: ServiceName[] = ['order', ctx.prng.pick<ServiceName>(['payment', 'inventory', 'saga', 'notification'])];
  ctx.say(`kill -9 nats-server (down while ${names.join(' and ')} restart)`);
  await nats.kill('SIGKILL');
  for (const name of names) {
    const signal = pickSignal(ctx.prng);
    ctx.say(`${signal === 'SIGKILL' ? 'kill -9' : 'SIGTERM'} ${name} while nats-server is down`);
    const downAt = Date.now();
    await restartService(ctx, name, signal, ctx.prng.int(300, 1000));
    if (await ready(ctx, name, READY_WITHOUT_NATS_MS, 'of its restart while nats-server was down'))
      ctx.say(`${name} ready ${Date.now() - downAt} ms after it went down, nats-server still down`);
  }
  const answer = await ctx.probeOrder(10_000);
  if (answer.status === 201) ctx.say('an order was taken while nats-server is down');
  else if (answer.status === 503 && answer.retryAfter !== null && answer.detail.includes('at-capacity'))
    // Nothing settles while NATS is away: once the backlog is at its bound, admission refuses at
    // once (DESIGN, Overload). That is the bound working, not NATS failing the intake.
    ctx.say('an order placed while nats-server is down was refused at capacity (the backlog is at its bound)');
  else problem(ctx, `an order placed while nats-server was down got ${answer.status || 'no answer'}: ${answer.detail}`);
  await nats.restart();
  ctx.say('nats-server back');
  await allReady(ctx, READY_AFTER_OUTAGE_MS, 'after nats-server came back');
  return names.length + 1;
}

/** PostgreSQL killed with SIGKILL (every server process) and back on the same data after a short pause. */
export async function killPostgres(ctx: FaultContext): Promise<number> {
  if (!ctx.system.postgres) return 0;
  return postgresDown(ctx, 'SIGKILL', ctx.prng.int(500, 3000));
}

/** PostgreSQL down (kill -9 or a fast shutdown, as the seed says) for `outageMs`, then back on the same data. */
export async function postgresOutage(ctx: FaultContext, outageMs: number): Promise<number> {
  if (!ctx.system.postgres) return 0;
  return postgresDown(ctx, ctx.prng.next() < 0.5 ? 'SIGKILL' : 'SIGINT', outageMs);
}

async function postgresDown(ctx: FaultContext, signal: 'SIGKILL' | 'SIGINT', downMs: number): Promise<number> {
  const how = signal === 'SIGKILL' ? 'kill -9' : 'fast shutdown';
  ctx.say(`postgres down for ${(downMs / 1000).toFixed(1)} s (${how}, back on the same data)`);
  const switches = Object.values(ctx.system.databaseSwitches);
  const before = pids(ctx);
  await ctx.system.postgres!.kill(signal);
  // Otherwise the switches would accept connections and drop them, where a dead server refuses them.
  await Promise.all(switches.map((p) => p.down()));
  const long = downMs >= PROBE_AFTER_MS + PROBE_TIMEOUT_MS;
  const [answer] = await Promise.all([long ? probeDuringOutage(ctx) : undefined, sleep(downMs)]);
  await ctx.system.postgres!.restart();
  await Promise.all(switches.map((p) => p.up()));
  ctx.say('postgres back');
  await allReady(ctx, READY_AFTER_OUTAGE_MS, `after postgres came back from ${how}`);
  survived(ctx, before, `a postgres ${how} of ${(downMs / 1000).toFixed(1)} s`);
  if (answer) problem(ctx, answer);
  return 1;
}

/**
 * An order placed a moment into a database outage must be refused at once, with a 503 and a
 * Retry-After, not left to hang. Returns what was wrong, if anything.
 */
async function probeDuringOutage(ctx: FaultContext): Promise<string | undefined> {
  await sleep(PROBE_AFTER_MS);
  const answer = await ctx.probeOrder(PROBE_TIMEOUT_MS);
  ctx.say(`order placed with the database down: ${answer.status || 'no answer'} in ${answer.ms} ms`);
  if (answer.status === 503 && answer.retryAfter !== null) return undefined;
  return (
    `an order placed with the database down got ${answer.status || 'no answer'} in ${answer.ms} ms ` +
    `(retry-after ${answer.retryAfter ?? 'none'}), not a fast 503 with Retry-After: ${answer.detail}`
  );
}

/**
 * One service's database cut off (its connections reset, new ones refused) for `outageMs` while
 * the rest of the system runs on and sends it events: the consumer's redelivery budget is spent.
 */
export async function cutOffDatabase(ctx: FaultContext, outageMs: number): Promise<number> {
  const switches = ctx.system.databaseSwitches;
  // The services that consume events (payment and inventory only answer calls).
  const names = (['order', 'saga', 'notification'] as const).filter((s) => switches[s]);
  if (names.length === 0) return 0;
  const name = ctx.prng.pick(names);
  ctx.say(`${name}'s database cut off for ${(outageMs / 1000).toFixed(1)} s`);
  const before = pids(ctx);
  await switches[name]!.down();
  await sleep(outageMs);
  await switches[name]!.up();
  ctx.say(`${name}'s database back`);
  await allReady(ctx, READY_AFTER_OUTAGE_MS, `after ${name}'s database came back`);
  survived(ctx, before, `a cut-off of ${name}'s database`);
  return 1;
}

/** A service frozen with SIGSTOP for longer than the consumers' ack wait, then SIGCONT. */
export async function freeze(ctx: FaultContext, name: ServiceName, forMs: number): Promise<number> {
  ctx.say(`SIGSTOP ${name} for ${forMs} ms`);
  await ctx.system.services[name].kill('SIGSTOP');
  await sleep(forMs);
  await ctx.system.services[name].kill('SIGCONT');
  ctx.say(`SIGCONT ${name}`);
  return 1;
}

/**
 * Events delivered again and out of order: the last messages of each stream are published again,
 * shuffled, under fresh Nats-Msg-Ids (so JetStream's de-duplication does not drop them and only the
 * consumers' inboxes stand between them and a second effect).
 */
export async function duplicateAndReorder(ctx: FaultContext, messaging: Messaging, perStream = 150): Promise<number> {
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
  const shuffled = ctx.prng.shuffle(copies);
  ctx.say(`re-publishing ${shuffled.length} events, shuffled, under new message ids`);
  for (const c of shuffled) {
    const h = natsHeaders();
    for (const [k, value] of c.headers) h.append(k, value);
    await messaging.js.publish(c.subject, c.data, { headers: h, msgID: `chaos-dup-${ctx.prng.id()}` });
  }
  return 1;
}
