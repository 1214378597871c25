// deploy/Dockerfile, checked offline: no Docker engine runs here, so the image is never built.
// The Dockerfile is linted (dockerfile-utils) and checked for what the deployment relies on; the
// scripts the image runs (deploy/docker/*.mjs) are run for real, as the image runs them, against
// the built services.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, freePort, waitFor } from '@shopflow/devkit';
import { checkDockerfile, checkDockerignore } from './dockerfile-checks.js';

const DOCKERFILE = fs.readFileSync(path.join(REPO_ROOT, 'deploy/Dockerfile'), 'utf8');
const SCRIPTS = path.join(REPO_ROOT, 'deploy/docker');

function changed(from: string | RegExp, to: string): string[] {
  const text = DOCKERFILE.replace(from, to);
  if (text === DOCKERFILE) throw new Error(`${String(from)} is not in the Dockerfile`);
  return checkDockerfile(text, REPO_ROOT);
}

describe('deploy/Dockerfile', () => {
  it('lints clean: multi-stage, the native toolchain to build, a non-root runtime with a HEALTHCHECK', () => {
    expect(checkDockerfile(DOCKERFILE, REPO_ROOT)).toEqual([]);
    expect(checkDockerignore(fs.readFileSync(path.join(REPO_ROOT, 'deploy/Dockerfile.dockerignore'), 'utf8'))).toEqual([]);
  });

  it('the checks catch a root user, a missing HEALTHCHECK, a bad flag, a missing workspace, a missing file', () => {
    expect(changed('USER 10001:10001', 'USER root')).toContain('Dockerfile: the runtime stage runs as root');
    expect(changed(/^HEALTHCHECK .*$/m, '')).toContain('Dockerfile: the runtime stage has no HEALTHCHECK CMD');
    expect(changed('HEALTHCHECK --interval=10s', 'HEALTHCHECK --intervall=10s')).toContainEqual(
      expect.stringContaining('Unknown flag: intervall'),
    );
    expect(changed('COPY services/saga/package.json services/saga/\n', '')).toContain(
      'Dockerfile: services/saga/package.json is not copied before npm ci',
    );
    expect(changed('deploy/docker/token.mjs deploy/docker/', 'deploy/docker/tokens.mjs deploy/docker/')).toContain(
      'Dockerfile: COPY deploy/docker/tokens.mjs: not in the build context',
    );
    expect(changed(' python3 make g++', ' python3 make')).toContainEqual(expect.stringContaining('no build stage installs g++'));
    expect(checkDockerignore('**/node_modules\n.git\n')).toContain('Dockerfile.dockerignore: does not exclude .data');
  });
});

/** A process started as the image starts it: `node deploy/docker/<script>` with only the environment given. */
function runScript(script: string, env: Record<string, string>, args: string[] = []): ChildProcess {
  return spawn(process.execPath, [path.join(SCRIPTS, script), ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function runToEnd(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [path.join(SCRIPTS, script), ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('the image scripts (deploy/docker), run as the image runs them', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-image-'));
  const children: ChildProcess[] = [];
  let inventoryPort = 0;
  let gatewayPort = 0;

  beforeAll(async () => {
    inventoryPort = await freePort();
    gatewayPort = await freePort();
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('start.mjs refuses a SERVICE that is not one of the six, naming them', () => {
    const result = runToEnd('start.mjs', { SERVICE: 'orders' });
    expect(result.status).toBe(64);
    expect(result.stderr).toContain('SERVICE=orders is not one of gateway, order, payment, inventory, notification, saga');
  });

  it('start.mjs runs the service SERVICE names; healthcheck.mjs passes on its /health and /ready, and SIGTERM stops it cleanly', async () => {
    const env = {
      SERVICE: 'inventory',
      HOST: '127.0.0.1',
      INVENTORY_SERVICE_PORT: String(inventoryPort),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    };
    const inventory = runScript('start.mjs', env);
    children.push(inventory);
    await waitFor('healthcheck.mjs to pass on /health', () => runToEnd('healthcheck.mjs', env).status === 0, {
      timeoutMs: 30_000,
    });
    await waitFor('healthcheck.mjs to pass on /ready', () => runToEnd('healthcheck.mjs', env, ['/ready']).status === 0, {
      timeoutMs: 30_000,
    });
    // It is the inventory service that answers: its route, its database in DATA_DIR.
    const answer = await fetch(`http://127.0.0.1:${inventoryPort}/inventory/PROD001`);
    expect(await answer.json()).toMatchObject({ product_id: 'PROD001', product_name: 'Widget' });
    expect(fs.existsSync(path.join(dataDir, 'inventory.db'))).toBe(true);
    inventory.kill('SIGTERM');
    expect(await exited(inventory)).toBe(0);
  });

  it('healthcheck.mjs fails when nothing answers, and for a SERVICE that is not one of the six', async () => {
    const closed = await freePort();
    const result = runToEnd('healthcheck.mjs', { SERVICE: 'order', ORDER_SERVICE_PORT: String(closed) });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`http://127.0.0.1:${closed}/health`);
    expect(runToEnd('healthcheck.mjs', { SERVICE: 'nobody' }).status).toBe(1);
  });

  it("token.mjs signs with the gateway's local key: the gateway (started by start.mjs) takes its token and refuses a forged one", async () => {
    const closed = await freePort(); // no upstream answers: an accepted token gets past auth to a 5xx, never a 401
    const upstream = `http://127.0.0.1:${closed}`;
    const env = {
      SERVICE: 'gateway',
      HOST: '127.0.0.1',
      GATEWAY_PORT: String(gatewayPort),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ORDER_SERVICE_URL: upstream,
      PAYMENT_SERVICE_URL: upstream,
      INVENTORY_SERVICE_URL: upstream,
      NOTIFICATION_SERVICE_URL: upstream,
      SAGA_SERVICE_URL: upstream,
    };
    const gateway = runScript('start.mjs', env);
    children.push(gateway);
    await waitFor('the gateway to answer /health', () => runToEnd('healthcheck.mjs', env).status === 0, { timeoutMs: 30_000 });
    expect(runToEnd('healthcheck.mjs', env, ['/no-such-path']).status).toBe(1); // a 404 is no pass
    const minted = runToEnd('token.mjs', { DATA_DIR: dataDir }, ['CUST001']);
    expect(minted.status).toBe(0);
    const token = minted.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const withToken = (bearer: string) =>
      fetch(`http://127.0.0.1:${gatewayPort}/orders/ORDER1`, { headers: { authorization: `Bearer ${bearer}` } }).then(
        (r) => r.status,
      );
    const status = await withToken(token);
    expect(status).toBeGreaterThanOrEqual(500);
    const [header, payload] = token.split('.');
    expect(await withToken(`${header}.${payload}.${'A'.repeat(86)}`)).toBe(401);
    expect(runToEnd('token.mjs', { DATA_DIR: dataDir }, []).status).toBe(2);
  });
});
