import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ServiceProcess,
  SupervisedNats,
  formatGiveUp,
  freePort,
  serviceAnswers,
  waitFor,
  type GiveUp,
  type ServiceProcessOptions,
} from '@shopflow/devkit';

// Real processes with the timings scaled down, so that a give-up or a hang takes a second or two.
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const FAST = { baseBackoffMs: 20, maxBackoffMs: 100, windowMs: 60_000 };

type Exit = { code: number | null; signal: NodeJS.Signals | null; restartInMs: number | undefined };

const owned: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(owned.splice(0).map((p) => p.stop()));
});

async function standIn(script: string, options: Partial<ServiceProcessOptions> = {}) {
  const port = await freePort();
  const lines: string[] = [];
  const exits: Exit[] = [];
  const process_ = new ServiceProcess({
    name: 'inventory',
    port,
    env: { ...process.env, PORT: String(port) },
    script: path.join(FIXTURES, script),
    sink: (_name, line) => lines.push(line),
    onExit: (_name, code, signal, restartInMs) => exits.push({ code, signal, restartInMs }),
    ...options,
    restartPolicy: { ...FAST, ...options.restartPolicy },
  });
  owned.push(process_);
  return { process: process_, port, lines, exits };
}

/** A healthy stand-in, started and ready, under liveness checks; `hangs` records each one seen. */
async function watchedStandIn(liveness: ServiceProcessOptions['liveness']) {
  const hangs: number[] = [];
  const standInService = await standIn('healthy-service.mjs', { liveness, onHang: (_name, silentMs) => hangs.push(silentMs) });
  standInService.process.start();
  await standInService.process.waitReady(10_000);
  return { ...standInService, hangs };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the supervisor', () => {
  it('gives up loudly on a service that keeps crashing, and leaves the others running', async () => {
    const healthy = await standIn('healthy-service.mjs');
    healthy.process.start();
    await healthy.process.waitReady(10_000);
    const healthyPid = healthy.process.pid;

    let report: GiveUp | undefined;
    const crashing = await standIn('crashing-service.mjs', {
      name: 'order',
      restartPolicy: { maxRestarts: 3 },
      onGiveUp: (r) => (report = r),
    });
    crashing.process.start();
    const given = await waitFor('the give-up', () => report, { timeoutMs: 15_000 });

    expect(given).toMatchObject({ name: 'order', crashes: 4, code: 3, signal: null });
    expect(crashing.lines.filter((l) => l.startsWith('boom'))).toHaveLength(4);
    // Three restarts, each after a backoff; none after the fourth crash.
    expect(crashing.exits.map((e) => e.restartInMs === undefined)).toEqual([false, false, false, true]);
    expect(crashing.process.gaveUp).toBe(true);
    expect(crashing.process.running).toBe(false);
    await expect(crashing.process.waitReady(10_000)).rejects.toThrow(/gave up on order/);

    const text = formatGiveUp(given);
    expect(text).toMatch(/^GAVE UP on order: it crashed 4 times within 60 s \(last: exit code 3\)/);
    expect(text).toContain('  | starting the stand-in');
    expect(text).toMatch(/ {2}\| boom: the stand-in cannot start/);

    expect(healthy.process.pid).toBe(healthyPid);
    expect(await serviceAnswers('inventory', healthy.port, 1000)).toBe(true);
    expect(healthy.exits).toEqual([]);
  });

  it('kills a service that stops answering its health check (SIGSTOP) and restarts it', async () => {
    const hanging = await watchedStandIn({ intervalMs: 50, probeTimeoutMs: 200, hangMs: 600 });
    const frozenPid = hanging.process.pid!;

    await hanging.process.kill('SIGSTOP');
    await waitFor(
      'a fresh process that answers',
      async () => hanging.process.pid !== frozenPid && (await serviceAnswers('inventory', hanging.port, 500)),
      { timeoutMs: 15_000 },
    );

    expect(hanging.hangs).toHaveLength(1);
    expect(hanging.hangs[0]).toBeGreaterThanOrEqual(600);
    expect(hanging.exits).toEqual([{ code: null, signal: 'SIGKILL', restartInMs: expect.any(Number) as number }]);
    expect(isAlive(frozenPid)).toBe(false);
  });

  it('leaves a service that answers alone', async () => {
    const busy = await watchedStandIn({ intervalMs: 20, probeTimeoutMs: 200, hangMs: 300 });
    const pid = busy.process.pid;
    // Twenty answers of our own take longer than hangMs: time enough for a false alarm to show.
    let answered = 0;
    await waitFor('twenty answered checks', async () => (await serviceAnswers('inventory', busy.port, 500)) && ++answered >= 20, {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    expect(busy.hangs).toEqual([]);
    expect(busy.process.pid).toBe(pid);
    expect(busy.exits).toEqual([]);
  });
});

describe('the nats-server npm start launches', () => {
  it('is restarted on the same store when it dies, and given up on when it keeps dying', async () => {
    const exits: Exit[] = [];
    let restarts = 0;
    let report: GiveUp | undefined;
    const nats = await SupervisedNats.start({
      restartPolicy: { ...FAST, maxRestarts: 1 },
      onExit: (code, signal, restartInMs) => exits.push({ code, signal, restartInMs }),
      onRestart: () => restarts++,
      onGiveUp: (r) => (report = r),
    });
    owned.push({ stop: () => nats.stop({ removeStore: true }) });

    const nc = await connect({ servers: nats.url });
    await (await jetstreamManager(nc)).streams.add({ name: 'SUPERVISED', subjects: ['supervised.>'] });
    await nc.close();

    const firstPid = nats.server.pid;
    await nats.server.kill('SIGKILL');
    await waitFor('nats-server back', () => restarts === 1, { timeoutMs: 20_000 });
    expect(nats.server.pid).not.toBe(firstPid);
    const again = await connect({ servers: nats.url });
    const info = await (await jetstreamManager(again)).streams.info('SUPERVISED');
    expect(info.config.subjects).toEqual(['supervised.>']);
    await again.close();

    await nats.server.kill('SIGKILL');
    const given = await waitFor('the give-up', () => report, { timeoutMs: 10_000 });
    expect(given).toMatchObject({ name: 'nats-server', crashes: 2, code: null, signal: 'SIGKILL' });
    expect(given.tail.length).toBeGreaterThan(0);
    expect(exits.map((e) => e.restartInMs === undefined)).toEqual([false, true]);
    expect(nats.gaveUp).toBe(true);
  });
});
