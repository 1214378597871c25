import type { FastifyReply } from 'fastify';
import { errors, type Dispatcher } from 'undici';

/** One request as the gateway sends it upstream: only what it chose to pass on. */
export interface Outgoing {
  method: string;
  /** Path and query, as the route rebuilt them. */
  path: string;
  /** Name, value, name, value…: the headers the services may read (undici adds host, content-length and traceparent). */
  headers: string[];
  /** The client's body bytes, exactly as they came. */
  body: Buffer | undefined;
}

/** Why no answer of the upstream reached the client: it did not answer in time, or could not be reached. */
export type Failure = 'timeout' | 'unreachable';

/**
 * Sends `outgoing` over `dispatcher` and streams the upstream's answer into `reply`'s socket, without
 * its hop-by-hop headers. `failed` answers the client when no answer came (headers not sent yet);
 * `settled` runs once when the exchange is over, however it ended. A client that goes away aborts
 * the upstream request.
 */
export function forward(
  dispatcher: Dispatcher,
  outgoing: Outgoing,
  timeoutMs: number,
  reply: FastifyReply,
  failed: (reply: FastifyReply, failure: Failure) => void,
  settled: () => void,
): void {
  const handler = new Forwarding(reply, failed, settled);
  dispatcher.dispatch(
    {
      method: outgoing.method,
      path: outgoing.path,
      headers: outgoing.headers,
      body: outgoing.body ?? null,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    },
    handler,
  );
}

// RFC 9110 7.6.1, and the older ones proxies still strip.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * undici's dispatch handler, one per request: the lowest layer of undici, with no body stream or
 * async resource per request (its `request` API builds both on this). A success streams straight to the
 * client's socket; a 5xx is collected and sent through Fastify, so that the request's span records
 * the error as for any other 5xx.
 */
class Forwarding implements Dispatcher.DispatchHandler {
  private abortUpstream: ((error?: Error) => void) | undefined;
  private resume: (() => void) | undefined;
  private clientGone = false;
  private done = false;
  /** Headers are out: from here on a failure can only cut the answer short. */
  private streaming = false;
  /** Body bytes still to come when the upstream said how many (NaN when it did not). */
  private remaining = NaN;
  /** A 5xx answer, kept until complete. */
  private collected: { status: number; headers: string[]; chunks: Buffer[] } | undefined;

  constructor(
    private readonly reply: FastifyReply,
    private readonly failed: (reply: FastifyReply, failure: Failure) => void,
    private readonly settled: () => void,
  ) {
    // `on`, not `once`: the response emits close once, and its listeners go with it.
    reply.raw.on('close', this.onClientClose);
  }

  private readonly onClientClose = (): void => {
    if (this.done) return;
    // Nobody is left to read the answer: the upstream need not finish it.
    this.clientGone = true;
    this.abortUpstream?.(new errors.RequestAbortedError());
  };

  onConnect(abort: (error?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.clientGone) abort(new errors.RequestAbortedError());
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    // An interim answer (103 Early Hints) is the upstream's business, not the client's.
    if (status < 200) return true;
    const own = this.reply.getHeaders();
    const headers = upstreamHeaders(raw, own);
    if (status >= 500) {
      this.collected = { status, headers, chunks: [] };
      return true;
    }
    // The gateway's own headers (traceparent) too; the upstream's of the same name were left out.
    for (const name in own) {
      const value = own[name];
      if (Array.isArray(value)) for (const v of value) headers.push(name, v);
      else if (value !== undefined) headers.push(name, String(value));
    }
    for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'content-length') this.remaining = Number(headers[i + 1]);
    // Written before the reply is taken over: should Node refuse a header, the reply can still answer.
    this.reply.raw.writeHead(status, headers);
    this.reply.hijack();
    this.streaming = true;
    this.resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.collected) {
      this.collected.chunks.push(chunk);
      return true;
    }
    // The last chunk ends the answer in the same write: no separate flush to schedule.
    if ((this.remaining -= chunk.length) === 0) {
      this.reply.raw.end(chunk);
      return true;
    }
    if (this.reply.raw.write(chunk)) return true;
    // The client reads slower than the upstream sends: pause the upstream until it catches up.
    this.reply.raw.once('drain', this.resume!);
    return false;
  }

  onComplete(): void {
    this.finish();
    if (this.collected) this.sendCollected(this.collected);
    else if (!this.reply.raw.writableEnded) this.reply.raw.end();
  }

  onError(error: Error): void {
    this.finish();
    if (this.clientGone) return;
    // Too late for a problem: closing the socket tells the client the answer is cut short.
    if (this.streaming) return void this.reply.raw.destroy(error);
    const timedOut = error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError;
    this.failed(this.reply, timedOut ? 'timeout' : 'unreachable');
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.settled();
  }

  private sendCollected({ status, headers, chunks }: NonNullable<Forwarding['collected']>): void {
    const reply = this.reply;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      const value = headers[i + 1]!;
      const previous = reply.getHeader(name);
      // Repeated fields (Vary, say) join as one; Fastify keeps each Set-Cookie apart itself.
      reply.header(name, previous === undefined || name === 'set-cookie' ? value : `${String(previous)}, ${value}`);
    }
    void reply.code(status).send(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  }
}

/**
 * The upstream's end-to-end headers as name, value pairs, lowercased, bytes unchanged: without the
 * hop-by-hop ones, those its Connection names, and any the gateway sets itself (`own`).
 */
function upstreamHeaders(raw: Buffer[], own: Record<string, unknown>): string[] {
  const out: string[] = [];
  let named: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    if (HOP_BY_HOP.has(name)) {
      if (name === 'connection') {
        for (const token of value.split(',')) {
          const t = token.trim().toLowerCase();
          if (t !== '' && !HOP_BY_HOP.has(t)) (named ??= []).push(t);
        }
      }
      continue;
    }
    if (Object.hasOwn(own, name)) continue;
    out.push(name, value);
  }
  if (named === undefined) return out;
  // Rare: the upstream's Connection names fields of its own, which stop here too.
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!named.includes(out[i]!)) kept.push(out[i]!, out[i + 1]!);
  return kept;
}
