// Shared by the gateway's tests: fake upstreams that record what reaches them, a real gRPC payment
// service, a signing key of the test's own, and the gateway started in front of them.
import fs from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { Role } from '@shopflow/contracts/api';
import { PaymentServiceService, type Payment, type PaymentServiceServer } from '@shopflow/contracts/payment-grpc';
import { createPaymentClient, type PaymentClient } from '@shopflow/payment-client';
import { loadDevKey, mintToken, type DevKey } from '@shopflow/platform/auth';
import { grpc } from '@shopflow/platform/grpc';
import { startTestService, type TestService } from '@shopflow/devkit';
import { createGatewayApp, type GatewayAdapters, type GatewayApp, type UpstreamUrls } from '../src/app.js';
import { localIdentity } from '../src/auth/identity.js';
import { gatewayService } from '../src/service.js';
import { loadGatewaySettings, type GatewaySettings } from '../src/settings.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A stand-in for one HTTP service: records every request (but /health) and answers as told (by default 200 with its name). */
export interface FakeUpstream {
  url: string;
  received: Received[];
  answer: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  close(): Promise<void>;
}

export async function startFake(name: string): Promise<FakeUpstream> {
  const app = Fastify();
  const fake: FakeUpstream = {
    url: '',
    received: [],
    answer: async (_request, reply) => reply.code(200).send({ upstream: name }),
    close: () => app.close(),
  };
  // Keep the bytes exactly as they arrived, whatever the content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.get('/health', () => ({ status: 'ok' }));
  app.all('/*', async (request, reply) => {
    fake.received.push({
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: (request.body as string | undefined) ?? '',
    });
    return fake.answer(request, reply);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  fake.url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return fake;
}

export const PAYMENT: Payment = {
  id: 'pay-1',
  orderId: 'ord-1',
  customerId: 'cust-1',
  amount: 25.5,
  status: 'SUCCESS',
  createdAt: '2025-01-02T03:04:05.000Z',
  updatedAt: '2025-01-02T03:04:06.000Z',
};

/** A real gRPC payment service that knows one payment and records the trace context it was sent. */
export async function startPaymentServer(): Promise<{ address: string; traceparents: (string | undefined)[]; stop(): void }> {
  const traceparents: (string | undefined)[] = [];
  const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<never>) => callback({ code: grpc.status.UNIMPLEMENTED });
  const impl: PaymentServiceServer = {
    getPayment(call, callback) {
      traceparents.push(call.metadata.get('traceparent')[0]?.toString());
      if (call.request.paymentId === PAYMENT.id) return callback(null, PAYMENT);
      callback({ code: grpc.status.NOT_FOUND, details: `payment ${call.request.paymentId} not found` });
    },
    processPayment: unimplemented,
    refundPayment: unimplemented,
    getPaymentByOrder: unimplemented,
    processPayments: unimplemented,
  };
  const server = new grpc.Server();
  server.addService(PaymentServiceService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, traceparents, stop: () => server.forceShutdown() };
}

/** A port nothing listens on: bound, then released. */
export async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A development key of the test's own, in a temporary DATA_DIR, made as the gateway makes its own. */
export async function testKey(): Promise<DevKey> {
  return loadDevKey(fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-gateway-key-')));
}

/** `Authorization` headers for a customer or an admin, signed with `key`. */
export async function bearer(key: DevKey, subject: string, role: Role = Role.Customer): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await mintToken(key, { subject, role })}` };
}

/** The gateway's settings with defaults from an empty environment, and the test's changes. */
export function testSettings(changes: Partial<GatewaySettings> = {}): GatewaySettings {
  return { ...loadGatewaySettings({}), ...changes };
}

/** The gateway in front of `upstreams`, verifying tokens signed with `key` unless the adapters bring their own identity. */
export async function startGateway(
  key: DevKey,
  upstreams: UpstreamUrls,
  payments: PaymentClient,
  adapters: Partial<GatewayAdapters> = {},
): Promise<{ app: TestService<GatewayApp>; url: string }> {
  const app = await startTestService({
    ...gatewayService,
    build: (ctx) =>
      createGatewayApp(ctx, { upstreams, payments, identity: localIdentity(key), settings: testSettings(), ...adapters }),
  });
  return { app, url: app.address };
}

/** The gateway in front of a fake for each HTTP service and a real gRPC payment service. */
export interface Stage {
  fakes: Record<keyof UpstreamUrls, FakeUpstream>;
  gateway: { app: TestService<GatewayApp>; url: string };
  /** What every fake has received, in service order. */
  received(): Received[];
  stop(): Promise<void>;
}

/** Starts a Stage whose gateway verifies tokens signed with `key`. */
export async function startStage(key: DevKey, adapters: Partial<GatewayAdapters> = {}): Promise<Stage> {
  const fakes = {} as Record<keyof UpstreamUrls, FakeUpstream>;
  for (const name of ['order', 'inventory', 'notification', 'saga'] as const) fakes[name] = await startFake(name);
  const paymentServer = await startPaymentServer();
  const payments = createPaymentClient(paymentServer.address);
  const urls = {
    order: fakes.order.url,
    inventory: fakes.inventory.url,
    notification: fakes.notification.url,
    saga: fakes.saga.url,
  };
  const gateway = await startGateway(key, urls, payments, adapters);
  return {
    fakes,
    gateway,
    received: () => Object.values(fakes).flatMap((f) => f.received),
    async stop() {
      await gateway.app.stop();
      payments.close();
      paymentServer.stop();
      await Promise.all(Object.values(fakes).map((f) => f.close()));
    },
  };
}
