import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { forwardLines } from './child-lines.js';
import { freePort, waitFor } from './wait.js';

const DIR_PREFIX = 'shopflow-pg-';
// Holds the pid of the process that owns a cluster; a cluster without one was kept for a post-mortem.
const OWNER_FILE = 'owner.pid';

/**
 * The directory holding `initdb` and `postgres`: PG_BIN, then the newest /usr/lib/postgresql/<v>/bin
 * (Debian), then `pg_config --bindir`, then PATH.
 */
export function findPostgresBin(): string | undefined {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const versions = fs
      .readdirSync(debian)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(debian, v, 'bin')));
  }
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (pgConfig.status === 0) candidates.push(pgConfig.stdout.trim());
  candidates.push(...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean));
  return candidates.find((dir) => ['initdb', 'postgres'].every((b) => fs.existsSync(path.join(dir, b))));
}

/** The uid and gid to run the server as: PostgreSQL refuses root, so root runs it as the `postgres` user. */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const [uid, gid] = [id('-u'), id('-g')];
  if (uid.status !== 0 || gid.status !== 0)
    throw new Error('running as root needs a `postgres` OS user to run PostgreSQL as (PostgreSQL refuses root)');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export interface PostgresClusterOptions {
  /** Forwards the server's log lines. */
  log?: (line: string) => void;
}

/**
 * A PostgreSQL cluster of a test's own: `initdb` into a temp dir, the server on a free port of
 * 127.0.0.1 with trust auth and its own socket dir. It can be killed, stopped and restarted on the
 * same data; it is removed on stop, and also when the process exits without stopping it.
 */
export class PostgresCluster {
  private child: ChildProcess | undefined;
  private static readonly live = new Set<PostgresCluster>();
  private static exitHooked = false;

  private constructor(
    readonly port: number,
    readonly baseDir: string,
    private readonly bin: string,
    private readonly identity: { uid: number; gid: number } | undefined,
    private readonly log?: (line: string) => void,
  ) {}

  /** Superuser URL of the maintenance database, for createDatabase/dropDatabase. */
  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get dataDir(): string {
    return path.join(this.baseDir, 'data');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  static async start(options: PostgresClusterOptions = {}): Promise<PostgresCluster> {
    const bin = findPostgresBin();
    if (!bin) throw new Error('PostgreSQL server binaries (initdb, postgres) not found: install postgresql or set PG_BIN');
    sweepAbandonedClusters();
    const identity = serverIdentity();
    const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), DIR_PREFIX));
    fs.writeFileSync(path.join(baseDir, OWNER_FILE), String(process.pid));
    fs.mkdirSync(path.join(baseDir, 'socket'));
    if (identity) {
      fs.chownSync(baseDir, identity.uid, identity.gid);
      fs.chownSync(path.join(baseDir, 'socket'), identity.uid, identity.gid);
    }
    const cluster = new PostgresCluster(await freePort(), baseDir, bin, identity, options.log);
    PostgresCluster.live.add(cluster);
    PostgresCluster.removeAllOnExit();
    try {
      const init = spawnSync(
        path.join(bin, 'initdb'),
        ['-D', cluster.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
        { ...cluster.spawnOptions(), encoding: 'utf8' },
      );
      if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
      await cluster.restart();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Starts the server (again) on the same port and data and waits until it answers a query. */
  async restart(): Promise<void> {
    if (this.running) return;
    const child = spawn(
      path.join(this.bin, 'postgres'),
      [
        ...['-D', this.dataDir, '-p', String(this.port), '-k', path.join(this.baseDir, 'socket')],
        ...['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
        // Only processes die here, never the machine: the OS keeps what fsync would have forced.
        ...['-c', 'fsync=off'],
      ],
      { ...this.spawnOptions(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    forwardLines(child, this.log);
    await waitFor(
      `PostgreSQL on ${this.port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}`);
        const client = new pg.Client({ connectionString: this.adminUrl, connectionTimeoutMillis: 1000 });
        client.on('error', () => undefined);
        try {
          await client.connect();
          await client.query('SELECT 1');
          return true;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  }

  /**
   * Signals the server and waits until it is gone. SIGKILL kills every server process, the way the
   * database dies with its host; SIGINT is a fast shutdown, SIGTERM a smart one.
   */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((r) => child.once('exit', r));
    if (signal === 'SIGKILL') {
      const pids = killTree(child.pid!);
      await exited;
      // A new postmaster refuses to start while an old backend still holds the shared memory.
      await waitFor('the old server processes to be gone', () => !pids.some(alive), { timeoutMs: 10_000 });
    } else {
      child.kill(signal);
      await exited;
    }
  }

  /** Stops the server (fast shutdown, SIGKILL after 10 s); `removeData: false` keeps it for a post-mortem. */
  async stop({ removeData = true } = {}): Promise<void> {
    const child = this.child;
    if (child && this.running) {
      const timer = setTimeout(() => killTree(child.pid!), 10_000);
      await this.kill('SIGINT');
      clearTimeout(timer);
    }
    PostgresCluster.live.delete(this);
    if (removeData) fs.rmSync(this.baseDir, { recursive: true, force: true });
    else fs.rmSync(path.join(this.baseDir, OWNER_FILE), { force: true });
  }

  /** How to start the server on this data again by hand. */
  startCommand(): string {
    const server = `${path.join(this.bin, 'postgres')} -D ${this.dataDir} -p ${this.port} -k ${path.join(this.baseDir, 'socket')}`;
    return this.identity ? `runuser -u postgres -- ${server}` : server;
  }

  private spawnOptions() {
    // uid/gid rather than runuser or su: those stay as the server's parent, so a kill -9 of the
    // child would leave the server running.
    return {
      cwd: this.baseDir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' },
      ...(this.identity ?? {}),
    };
  }

  private static removeAllOnExit(): void {
    if (PostgresCluster.exitHooked) return;
    PostgresCluster.exitHooked = true;
    // Synchronous, so it also runs when the harness ends with process.exit or an uncaught error.
    process.once('exit', () => {
      for (const cluster of PostgresCluster.live) {
        if (cluster.child?.pid && cluster.running) killTree(cluster.child.pid);
        fs.rmSync(cluster.baseDir, { recursive: true, force: true });
      }
    });
  }
}

/** The postmaster and every server process it started (they leave its process group, so by parent). */
function serverProcesses(postmaster: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid …": comm may hold spaces, so read after its closing parenthesis.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z') continue;
    if (Number(entry) === postmaster || Number(ppid) === postmaster) pids.push(Number(entry));
  }
  return pids;
}

/** SIGKILLs the postmaster and its server processes; returns their pids. */
function killTree(postmaster: number): number[] {
  const pids = serverProcesses(postmaster);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids;
}

/** True while the process exists and is not a zombie (a zombie holds no memory any more). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Removes clusters whose owning process died without stopping them (a harness killed with SIGKILL). */
function sweepAbandonedClusters(): void {
  for (const entry of fs.readdirSync(os.tmpdir())) {
    if (!entry.startsWith(DIR_PREFIX)) continue;
    const baseDir = path.join(os.tmpdir(), entry);
    let owner: number;
    try {
      owner = Number(fs.readFileSync(path.join(baseDir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // kept for a post-mortem, or not ours
    }
    if (alive(owner)) continue;
    const postmaster = postmasterOf(path.join(baseDir, 'data'));
    if (postmaster !== undefined) killTree(postmaster);
    fs.rmSync(baseDir, { recursive: true, force: true });
  }
}

/** The pid in the data dir's postmaster.pid, if that process is a postgres serving this data dir. */
function postmasterOf(dataDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(dataDir) ? pid : undefined;
  } catch {
    return undefined;
  }
}
