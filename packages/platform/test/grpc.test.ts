import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { service as healthService } from 'grpc-health-check';
import { grpcServing, waitFor } from '@shopflow/devkit';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import {
  createGrpcServer,
  grpc,
  listenAddress,
  unaryCall,
  unaryHandler,
  type GrpcServer,
  type UnaryMethod,
} from '@shopflow/platform/grpc';
import { startTelemetry } from '@shopflow/platform/telemetry';
import { currentTrace, inSpan } from '@shopflow/platform/tracing';

/** What the test service is asked to do; it answers with the trace it ran in. */
interface EchoRequest {
  mode: 'trace' | 'not-found' | 'crash' | 'hold';
}
interface EchoResponse {
  traceId: string | undefined;
}

// A one-method service with JSON on the wire, so the plumbing is tested without any proto of ours.
const toJson = (value: unknown) => Buffer.from(JSON.stringify(value));
const fromJson = (buffer: Buffer) => JSON.parse(buffer.toString());
const EchoService = {
  echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: toJson,
    requestDeserialize: fromJson,
    responseSerialize: toJson,
    responseDeserialize: fromJson,
  },
} satisfies grpc.ServiceDefinition;
const EchoClient = grpc.makeGenericClientConstructor(EchoService, 'Echo');
const HealthClient = grpc.makeGenericClientConstructor(healthService, 'Health');

/** A server with the echo service; `hold` calls wait until `release()`, and `holding()` counts them. */
function echoServer(drainTimeoutMs: number) {
  const unexpected = vi.fn();
  let holding = 0;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const server = createGrpcServer({ healthNames: ['test.Echo'], drainTimeoutMs });
  server.server.addService(EchoService, {
    echo: unaryHandler<EchoRequest, EchoResponse>(async ({ mode }) => {
      if (mode === 'not-found') throw new AppError(ErrorCode.NotFound, 'no such echo');
      if (mode === 'crash') throw new Error('secret internals');
      if (mode === 'hold') {
        holding++;
        await held;
      }
      return { traceId: currentTrace()?.traceId };
    }, unexpected),
  });
  return { server, unexpected, release: () => release(), holding: () => holding };
}

function echoClient(address: string) {
  const client = new EchoClient(address, grpc.credentials.createInsecure());
  const method = (client as unknown as { echo: UnaryMethod<EchoRequest, EchoResponse> }).echo.bind(client);
  return { echo: unaryCall(method, 'echo Echo', 10_000), close: () => client.close() };
}

async function failure(call: Promise<unknown>): Promise<AppError> {
  const error: unknown = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

describe('gRPC client and handler plumbing', () => {
  let echo: ReturnType<typeof echoServer>;
  let client: ReturnType<typeof echoClient>;

  beforeAll(async () => {
    echo = echoServer(1000);
    client = echoClient(await echo.server.listen('127.0.0.1', 0));
  });

  afterAll(async () => {
    client?.close();
    echo?.release();
    await echo?.server.close();
  });

  it("runs the handler in the caller's trace", async () => {
    startTelemetry('grpc-test', {});
    const { traceId, res } = await inSpan('caller', {}, async () => ({
      traceId: currentTrace()?.traceId,
      res: await client.echo({ mode: 'trace' }),
    }));
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.traceId).toBe(traceId);
  });

  it('turns an AppError into its gRPC status and back, with the label in the message', async () => {
    const error = await failure(client.echo({ mode: 'not-found' }));
    expect(error).toMatchObject({ code: ErrorCode.NotFound, message: 'echo Echo: no such echo' });
    expect((error.cause as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
  });

  it('answers INTERNAL without internals and reports the cause', async () => {
    const error = await failure(client.echo({ mode: 'crash' }));
    expect(error).toMatchObject({ code: ErrorCode.Internal, message: 'echo Echo: internal error' });
    expect(echo.unexpected).toHaveBeenCalledWith(expect.objectContaining({ message: 'secret internals' }));
  });

  it('gives up at the deadline', async () => {
    const error = await failure(client.echo({ mode: 'hold' }, 100));
    expect(error.code).toBe(ErrorCode.DeadlineExceeded);
  });
});

describe('gRPC server lifecycle', () => {
  it('reports SERVING once bound, and on stop lets an in-flight call finish', async () => {
    const { server, release, holding } = echoServer(60_000);
    const address = await server.listen('127.0.0.1', 0);
    const client = echoClient(address);
    try {
      expect(await grpcServing(address)).toBe(true);
      const inFlight = client.echo({ mode: 'hold' });
      await waitFor('the call to reach its handler', () => holding() === 1);
      let stopped = false;
      const stopping = server.close().then(() => (stopped = true));
      expect(server.close()).toBe(server.close());
      await waitFor('new calls to be refused', async () => !(await grpcServing(address, 200)));
      expect(stopped).toBe(false);
      release();
      expect(await inFlight).toEqual({ traceId: expect.any(String) });
      await stopping;
      expect(stopped).toBe(true);
    } finally {
      client.close();
      release();
      await server.close();
    }
  });

  it('tells watchers NOT_SERVING, then cuts a stream still open at the drain deadline', async () => {
    const server: GrpcServer = echoServer(200).server;
    const address = await server.listen('127.0.0.1', 0);
    const health = new HealthClient(address, grpc.credentials.createInsecure());
    const watch = (health as unknown as { watch(r: { service: string }): grpc.ClientReadableStream<{ status: string }> }).watch({
      service: 'test.Echo',
    });
    const seen: string[] = [];
    let cut: grpc.ServiceError | undefined;
    watch.on('data', (r: { status: string }) => seen.push(r.status));
    watch.on('error', (e: grpc.ServiceError) => (cut = e));
    try {
      await waitFor('SERVING', () => seen.includes('SERVING'));
      // Resolves only because the open Watch is cut: tryShutdown alone would wait for it forever.
      await server.close();
      await waitFor('the watch to be cut', () => cut !== undefined);
      expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    } finally {
      health.close();
    }
  });

  it('brackets an IPv6 literal in a listen address', () => {
    expect(listenAddress('127.0.0.1', 8082)).toBe('127.0.0.1:8082');
    expect(listenAddress('::1', 0)).toBe('[::1]:0');
    expect(listenAddress('[::1]', 8082)).toBe('[::1]:8082');
  });
});
