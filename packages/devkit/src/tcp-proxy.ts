import net from 'node:net';

/**
 * A TCP forwarder on a port of 127.0.0.1 that a test can cut off: its connections are reset and
 * new ones refused, as a dead server's would be, until it is restored on the same port.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  // The clients' ends; each one's upstream follows it.
  private readonly clients = new Set<net.Socket>();
  private boundPort = 0;

  private constructor(private readonly targetPort: number) {}

  /** Forwards a free port of 127.0.0.1 to `targetPort` there. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    await proxy.listen();
    return proxy;
  }

  get port(): number {
    return this.boundPort;
  }

  get isCutOff(): boolean {
    return !this.server;
  }

  /** Resets every connection and refuses new ones. */
  async cutOff(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const client of this.clients) client.resetAndDestroy();
    this.clients.clear();
    if (server) await new Promise((r) => server.close(r));
  }

  /** Accepts connections again, on the same port. */
  async restore(): Promise<void> {
    if (!this.server) await this.listen();
  }

  async stop(): Promise<void> {
    await this.cutOff();
  }

  private listen(): Promise<void> {
    const server = net.createServer((client) => this.forward(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, '127.0.0.1', () => {
        this.boundPort = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  private forward(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    this.clients.add(client);
    client.on('close', () => this.clients.delete(client));
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      socket.on('error', () => other.destroy());
      socket.on('close', () => other.destroy());
      socket.pipe(other);
    }
  }
}
