import net from 'node:net';
import { freePort } from './wait.js';

/**
 * A TCP path to a real server that a test can cut and restore: while down, connections are
 * refused and the open ones are reset, as when the server's host goes away. Used to take a
 * database away from one service without stopping the machine's server.
 */
export class TcpSwitch {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private frozen = false;

  private constructor(
    private readonly target: { host: string; port: number },
    readonly port: number,
  ) {}

  /** Starts a switch in the `up` state on a free port of 127.0.0.1. */
  static async start(target: { host: string; port: number }): Promise<TcpSwitch> {
    // The port is let go while the switch is down, so it must not be one the kernel lends to outgoing connections.
    const path = new TcpSwitch(target, await freePort());
    await path.up();
    return path;
  }

  /** Rewrites a URL's host and port to go through the switch. */
  route(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  async up(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => {
      if (this.frozen) {
        // A frozen host takes the connection and then says nothing.
        this.sockets.add(client);
        client.on('close', () => this.sockets.delete(client));
        client.on('error', () => client.destroy());
        client.pause();
        return;
      }
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /**
   * Keeps connections open but moves no byte, as a frozen server or a stalled network does:
   * callers see no error, only silence, until their own deadline. `thaw()` resets them.
   */
  freeze(): void {
    this.frozen = true;
    for (const s of this.sockets) s.pause();
  }

  /** Ends a freeze: the silent connections are reset and new ones go through again. */
  thaw(): void {
    this.frozen = false;
    for (const s of this.sockets) s.resetAndDestroy();
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.resetAndDestroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}
