import { spawn } from 'node:child_process';
import fs from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresCluster, findPostgresBin } from './postgres-cluster.js';

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end().catch(() => undefined);
  }
}

const exists = (pid: number) => fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

describe.skipIf(!findPostgresBin())('PostgresCluster', () => {
  let cluster: PostgresCluster;

  beforeAll(async () => {
    cluster = await PostgresCluster.start();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('runs on a port of its own, not the machine’s 5432, as a user that is not root', async () => {
    expect(cluster.port).not.toBe(5432);
    const [row] = await query<{ user: string }>(cluster.adminUrl, 'SELECT current_user AS user');
    expect(row?.user).toBe('postgres');
    expect(fs.statSync(cluster.dataDir).uid).not.toBe(0);
  });

  it('comes back on the same data after kill -9, which takes every server process with it', async () => {
    await query(cluster.adminUrl, 'CREATE TABLE survivors (n INTEGER)');
    await query(cluster.adminUrl, 'INSERT INTO survivors VALUES (42)');
    const held = new pg.Client({ connectionString: cluster.adminUrl });
    held.on('error', () => undefined);
    await held.connect();
    const backend = (await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const postmaster = cluster.pid!;

    await cluster.kill('SIGKILL');

    expect(exists(postmaster)).toBe(false);
    expect(exists(backend)).toBe(false);
    await expect(query(cluster.adminUrl, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    await held.end().catch(() => undefined);

    await cluster.restart();
    expect(await query(cluster.adminUrl, 'SELECT n FROM survivors')).toEqual([{ n: 42 }]);
  });

  it('comes back after a fast shutdown', async () => {
    await cluster.kill('SIGINT');
    expect(cluster.running).toBe(false);
    await expect(query(cluster.adminUrl, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    await cluster.restart();
    expect(await query(cluster.adminUrl, 'SELECT n FROM survivors')).toEqual([{ n: 42 }]);
  });

  it('removes its data and its server on stop', async () => {
    const other = await PostgresCluster.start();
    const postmaster = other.pid!;
    await other.stop();
    expect(fs.existsSync(other.baseDir)).toBe(false);
    expect(exists(postmaster)).toBe(false);
  });
});

// A harness of its own (the built devkit), to end without stopping its cluster.
function harness(end: 'exit' | 'hang') {
  const module = new URL('../dist/postgres-cluster.js', import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { PostgresCluster } = await import(${JSON.stringify(module)});
       const c = await PostgresCluster.start();
       console.log(JSON.stringify({ baseDir: c.baseDir, pid: c.pid }));
       ${end === 'exit' ? 'process.exit(0);' : 'setInterval(() => {}, 1000);'}`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const started = new Promise<{ baseDir: string; pid: number }>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()) as { baseDir: string; pid: number }));
    child.once('exit', (code) => reject(new Error(`harness exited with ${code} before its cluster started`)));
  });
  const exited = new Promise((r) => child.once('exit', r));
  return { child, started, exited };
}

describe.skipIf(!findPostgresBin())('PostgresCluster left behind', () => {
  it('is removed when its process exits without stopping it', async () => {
    const h = harness('exit');
    const { baseDir, pid } = await h.started;
    await h.exited;
    expect(fs.existsSync(baseDir)).toBe(false);
    expect(exists(pid)).toBe(false);
  });

  it('is removed by the next start when its process was killed', async () => {
    const h = harness('hang');
    const { baseDir, pid } = await h.started;
    h.child.kill('SIGKILL');
    await h.exited;
    expect(exists(pid)).toBe(true); // the server outlives a harness killed with SIGKILL

    const next = await PostgresCluster.start();
    await next.stop();
    expect(fs.existsSync(baseDir)).toBe(false);
    expect(exists(pid)).toBe(false);
  });
});
