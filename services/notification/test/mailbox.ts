import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/**
 * How the mailbox answers one message: take it, refuse it with an SMTP reply, never answer, or
 * close the connection without answering (as a server that crashed after storing it would).
 */
export type Verdict = 'accept' | 'hold' | 'drop' | { code: number; message: string };

/** One message as the server was handed it, whatever it answered. */
export interface Arrival {
  mail: ParsedMail;
  orderId: string;
  messageId: string | undefined;
  mailFrom: string | undefined;
  rcptTo: string[];
  /** The SMTP user the client logged in as. */
  user: unknown;
  verdict: Verdict;
}

const USER = 'shopflow';
const PASSWORD = 's3cret';

/**
 * A real SMTP server (smtp-server) on a free loopback port that requires a login, parses every
 * message (mailparser) and answers it as a test tells it to, per order id.
 */
export class Mailbox {
  readonly arrivals: Arrival[] = [];
  private readonly rules = new Map<string, (attempt: number) => Verdict>();
  private readonly listeners: ((a: Arrival) => void)[] = [];

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(): Promise<Mailbox> {
    // The handlers need the mailbox, which needs the listening server.
    const ref: { box?: Mailbox } = {};
    const server = new SMTPServer({
      logger: false,
      // No STARTTLS: its built-in certificate would (rightly) fail nodemailer's verification.
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authOptional: false,
      closeTimeout: 200,
      onAuth(auth, _session, callback) {
        if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: auth.username });
        else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onData: (stream, session, callback) => void ref.box!.receive(stream, session, callback),
    });
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    ref.box = new Mailbox(server, (server.server.address() as AddressInfo).port);
    return ref.box;
  }

  /** `smtp://` with the credentials the server requires. */
  get url(): string {
    return `smtp://${USER}:${PASSWORD}@127.0.0.1:${this.port}`;
  }

  /** How messages for `orderId` are answered, by attempt (1-based); the default takes every one. */
  answer(orderId: string, rule: (attempt: number) => Verdict): void {
    this.rules.set(orderId, rule);
  }

  /** Every message that arrived for `orderId`, answered or not. */
  for(orderId: string): Arrival[] {
    return this.arrivals.filter((a) => a.orderId === orderId);
  }

  /** The messages for `orderId` that the server took. */
  accepted(orderId: string): Arrival[] {
    return this.for(orderId).filter((a) => a.verdict === 'accept');
  }

  /** Resolves with the next message for `orderId` as soon as it has arrived whole. */
  arrival(orderId: string): Promise<Arrival> {
    return new Promise((resolve) => {
      const listener = (a: Arrival) => {
        if (a.orderId !== orderId) return;
        this.listeners.splice(this.listeners.indexOf(listener), 1);
        resolve(a);
      };
      this.listeners.push(listener);
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async receive(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    callback: (err?: Error | null) => void,
  ): Promise<void> {
    let mail: ParsedMail;
    try {
      mail = await simpleParser(stream);
    } catch (error) {
      return callback(error as Error);
    }
    const header = mail.headers.get('x-shopflow-order-id');
    const orderId = typeof header === 'string' ? header : '';
    const verdict = this.rules.get(orderId)?.(this.for(orderId).length + 1) ?? 'accept';
    const arrival: Arrival = {
      mail,
      orderId,
      messageId: mail.messageId,
      mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
      rcptTo: session.envelope.rcptTo.map((r) => r.address),
      user: session.user,
      verdict,
    };
    this.arrivals.push(arrival);
    for (const l of [...this.listeners]) l(arrival);
    // A held message gets no answer: the client is left waiting, as if between send and reply.
    if (verdict === 'hold') return;
    if (verdict === 'drop') return [...this.server.connections].find((c) => c.id === session.id)?.close();
    if (verdict === 'accept') return callback();
    callback(Object.assign(new Error(verdict.message), { responseCode: verdict.code }));
  }
}
