import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { forwardLines } from './child-lines.js';
import { natsServerConfig, writeOwnerOnly, type NatsUsers } from './nats-auth.js';
import { freePort, waitFor } from './wait.js';

/** Where the nats-server binary is: NATS_SERVER_BIN, then PATH, then Debian's /usr/sbin. */
export function findNatsServer(): string | undefined {
  const candidates = [process.env.NATS_SERVER_BIN, 'nats-server', '/usr/sbin/nats-server', '/usr/local/bin/nats-server'];
  for (const c of candidates) {
    if (!c) continue;
    if (spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0) return c;
  }
  return undefined;
}

/**
 * JetStream's storage cap unless told otherwise: room for the four streams' default 1 GiB each
 * (which the server reserves up front) and the same on every machine, whatever its free disk.
 */
export const DEFAULT_MAX_FILE_STORE = 8 * 1024 ** 3;

export interface NatsServerOptions {
  /** JetStream store; a fresh temporary directory when omitted. */
  storeDir?: string;
  port?: number;
  /** JetStream's storage cap in bytes (max_file_store), DEFAULT_MAX_FILE_STORE when omitted. */
  maxFileStore?: number;
  /** Forwards the server's log lines. */
  log?: (line: string) => void;
  /** The only users it admits, with their permissions; without them it admits anyone. */
  users?: NatsUsers;
}

/** A real nats-server with JetStream that a test or the launcher owns: kill it, restart it on the same store. */
export class NatsServer {
  readonly url: string;
  /** Called with each exit of the server process; read at exit time, so it may be set after start(). */
  onExit: ((code: number | null, signal: NodeJS.Signals | null) => void) | undefined;
  private child: ChildProcess | undefined;
  private readonly binary: string;

  private constructor(
    readonly port: number,
    readonly monitorPort: number,
    readonly storeDir: string,
    private readonly maxFileStore: number,
    private readonly log?: (line: string) => void,
    /** The only users it admits (written into the configuration of every restart); anyone without them. */
    private readonly users?: NatsUsers,
  ) {
    const binary = findNatsServer();
    if (!binary)
      throw new Error('nats-server not found: install it (Debian: apt-get install -y nats-server) or set NATS_SERVER_BIN');
    this.binary = binary;
    this.url = `nats://127.0.0.1:${port}`;
  }

  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    const storeDir = options.storeDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-nats-'));
    const server = new NatsServer(
      options.port ?? (await freePort()),
      await freePort(),
      storeDir,
      options.maxFileStore ?? DEFAULT_MAX_FILE_STORE,
      options.log,
      options.users,
    );
    await server.restart();
    return server;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the server (again) on the same port and store and waits until JetStream is healthy. */
  async restart(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return;
    fs.mkdirSync(this.storeDir, { recursive: true });
    // No flag sets the storage cap or the users; a config file does, and the flags still apply over it.
    const conf = path.join(this.storeDir, 'nats-server.conf');
    writeOwnerOnly(conf, `jetstream { max_file_store: ${this.maxFileStore} }\n${this.users ? natsServerConfig(this.users) : ''}`);
    const child = spawn(
      this.binary,
      ['-a', '127.0.0.1', '-p', String(this.port), '-m', String(this.monitorPort), '-js', '-sd', this.storeDir, '-c', conf],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.once('exit', (code, signal) => this.onExit?.(code, signal));
    forwardLines(child, this.log);
    await waitFor(
      `nats-server on ${this.port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
        const res = await fetch(`http://127.0.0.1:${this.monitorPort}/healthz`);
        return res.ok;
      },
      { timeoutMs: 20_000 },
    );
  }

  /** Sends a signal (SIGKILL by default) and waits for the process to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }

  async stop({ removeStore = false } = {}): Promise<void> {
    await this.kill('SIGTERM');
    if (removeStore) fs.rmSync(this.storeDir, { recursive: true, force: true });
  }
}
