import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PrincipalHeader, Role, type ApiRoute } from '@shopflow/contracts/api';
import { createPaymentClient, type PaymentClient } from '@shopflow/payment-client';
import { DEV_AUDIENCE, DEV_ISSUER, type DevKey } from '@shopflow/platform/auth';
import type { TestService } from '@shopflow/devkit';
import type { GatewayApp } from '../src/app.js';
import { jwksIdentity } from '../src/auth/identity.js';
import { PUBLIC_API } from '../src/routes/proxy.js';
import { PAYMENT, bearer, startFake, startGateway, startStage, testKey, type FakeUpstream, type Stage } from './support.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('gateway access', () => {
  let stage: Stage;
  let gateway: Stage['gateway'];
  let fakes: Stage['fakes'];
  let key: DevKey;

  beforeAll(async () => {
    key = await testKey();
    stage = await startStage(key);
    ({ gateway, fakes } = stage);
  });
  afterAll(async () => {
    await stage?.stop();
  });
  beforeEach(() => {
    for (const fake of Object.values(fakes)) fake.received.length = 0;
  });

  const received = () => stage.received();

  /** Claims as the local key signs them, with `changes` applied. */
  const claims = (changes: Record<string, unknown> = {}) => ({
    sub: 'cust-1',
    role: 'customer',
    iss: DEV_ISSUER,
    aud: DEV_AUDIENCE,
    iat: now(),
    exp: now() + 600,
    ...changes,
  });
  const signed = (payload: Record<string, unknown>) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).sign(key.privateKey);

  const badTokens: [string, () => Promise<string>][] = [
    ['alg none', () => Promise.resolve(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`)],
    [
      'HS256 with a guessed key',
      () => new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('secret')),
    ],
    [
      'HS256 signed with the public key bytes (RS/HS confusion)',
      async () => {
        const pem = await exportSPKI(key.publicKey);
        return new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: key.kid }).sign(new TextEncoder().encode(pem));
      },
    ],
    ['a wrong issuer', () => signed(claims({ iss: 'https://evil.example' }))],
    ['a wrong audience', () => signed(claims({ aud: 'another-api' }))],
    ['an expired token', () => signed(claims({ exp: now() - 120 }))],
    ['a token not valid yet', () => signed(claims({ nbf: now() + 600 }))],
    ['no subject', () => signed(claims({ sub: undefined }))],
    ['a subject that is no id', () => signed(claims({ sub: 'a b' }))],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await signed(claims())).split('.');
        return `${header}.${b64(claims({ sub: 'cust-2', role: 'admin' }))}.${signature}`;
      },
    ],
    [
      'another key pair',
      async () => new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA' }).sign((await testKey()).privateKey),
    ],
  ];

  it.each(badTokens)('answers 401 with a Bearer challenge to %s, and forwards nothing', async (_name, make) => {
    const res = await fetch(`${gateway.url}/orders/o-1`, { headers: { authorization: `Bearer ${await make()}` } });

    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="shopflow", error="invalid_token"/);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ type: 'urn:shopflow:problem:unauthorized', status: 401 });
    expect(received()).toEqual([]);
  });

  it('accepts a good token, signed the same way, as the control of the table above', async () => {
    const res = await fetch(`${gateway.url}/orders/o-1`, { headers: { authorization: `Bearer ${await signed(claims())}` } });

    expect(res.status).toBe(200);
  });

  /** Every public route, with a path that matches it. */
  const routes: { route: ApiRoute; owner: string; path: string }[] = [
    ...Object.entries(PUBLIC_API).flatMap(([owner, api]) =>
      Object.values(api.routes).map((route) => ({
        route,
        owner,
        path: route.url.replace(/:\w+/g, 'p-1').replace('*', 'retry'),
      })),
    ),
    {
      route: { method: 'GET', url: '/payments/:payment_id', access: 'customer', schema: { summary: '', response: {} } },
      owner: 'payment',
      path: `/payments/${PAYMENT.id}`,
    },
  ];
  const callers = [
    { name: 'anonymous', subject: undefined, role: undefined },
    { name: 'customer', subject: PAYMENT.customerId, role: Role.Customer },
    { name: 'admin', subject: 'ops-1', role: Role.Admin },
  ] as const;
  const expected = { anonymous: [200, 200, 200], customer: [401, 200, 200], admin: [401, 403, 200] };

  it('lets each role reach exactly the routes its access allows, with the principal set by the gateway alone', async () => {
    const table: string[] = [];
    const want: string[] = [];
    for (const { route, owner, path } of routes) {
      for (const [i, caller] of callers.entries()) {
        for (const fake of Object.values(fakes)) fake.received.length = 0;
        const auth = caller.subject === undefined ? {} : await bearer(key, caller.subject, caller.role);
        const res = await fetch(`${gateway.url}${path}`, {
          method: route.method,
          // A client's own principal headers must never reach a service.
          headers: { ...auth, [PrincipalHeader.Subject]: 'someone-else', [PrincipalHeader.Role]: 'admin' },
          ...(route.method === 'GET' ? {} : { body: '{}' }),
        });
        await res.arrayBuffer();
        const status = expected[route.access][i]!;
        const got = received();
        const principal = got.map(
          (r) => `${String(r.headers[PrincipalHeader.Subject])}/${String(r.headers[PrincipalHeader.Role])}`,
        );
        table.push(`${route.method} ${route.url} as ${caller.name}: ${res.status} ${principal.join(',')}`);
        const reaches = status === 200 && owner !== 'payment';
        const who = caller.subject === undefined ? '~anonymous/customer' : `${caller.subject}/${caller.role}`;
        want.push(`${route.method} ${route.url} as ${caller.name}: ${status} ${reaches ? who : ''}`);
        if (reaches) expect(got.map((r) => r.url)).toEqual([path]);
      }
    }
    expect(table).toEqual(want);
  });

  it("answers 404 to a customer asking for someone else's payment, as for an unknown one", async () => {
    const res = await fetch(`${gateway.url}/payments/${PAYMENT.id}`, { headers: await bearer(key, 'cust-2') });

    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ detail: `payment ${PAYMENT.id} not found` });
  });

  it('answers 401 to a header that is not a bearer token, and without a token names no error', async () => {
    const basic = await fetch(`${gateway.url}/orders/o-1`, { headers: { authorization: 'Basic YTpi' } });
    const none = await fetch(`${gateway.url}/orders/o-1`);

    expect([basic.status, none.status]).toEqual([401, 401]);
    expect(basic.headers.get('www-authenticate')).toContain('invalid_token');
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="shopflow"');
    expect(received()).toEqual([]);
  });

  it('serves /health, /ready, /docs and the OpenAPI document with the bearer scheme without a token', async () => {
    const statuses = await Promise.all(
      ['/health', '/ready', '/docs', '/docs/json'].map(async (p) => (await fetch(`${gateway.url}${p}`)).status),
    );
    const doc = (await (await fetch(`${gateway.url}/docs/json`)).json()) as {
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, { security?: unknown }>>;
    };

    expect(statuses).toEqual([200, 200, 200, 200]);
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.paths['/orders']?.post?.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/inventory/{product_id}']?.get?.security).toBeUndefined();
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/reservations'))).toBe(false);
  });
});

describe('gateway verifying against a JWKS served over HTTP', () => {
  let keys: JWK[] = [];
  let fetches = 0;
  let jwksServer: Server;
  let fake: FakeUpstream;
  let gateway: { app: TestService<GatewayApp>; url: string };
  let payments: PaymentClient;
  const ISSUER = 'https://id.example';
  const AUDIENCE = 'shopflow-api';

  beforeAll(async () => {
    jwksServer = createServer((_request, response) => {
      fetches++;
      response.setHeader('content-type', 'application/json').end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const url = new URL(`http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`);
    fake = await startFake('order');
    payments = createPaymentClient('127.0.0.1:1');
    // No cooldown, so that the rotation is seen at the first token of the new key.
    const identity = jwksIdentity(url, ISSUER, AUDIENCE, { cooldownMs: 0 });
    gateway = await startGateway(
      await testKey(),
      { order: fake.url, inventory: fake.url, notification: fake.url, saga: fake.url },
      payments,
      {
        identity,
      },
    );
  });
  afterAll(async () => {
    await gateway?.app.stop();
    payments?.close();
    await fake?.close();
    await new Promise((resolve) => jwksServer?.close(resolve));
  });

  async function signer(alg: 'ES256' | 'RS256', kid: string) {
    const pair = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
    const sign = (sub: string) =>
      new SignJWT({ role: 'customer' })
        .setProtectedHeader({ alg, kid })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(sub)
        .setExpirationTime('5m')
        .sign(pair.privateKey);
    return { jwk, sign };
  }
  const status = async (token: string) =>
    (await fetch(`${gateway.url}/orders/o-1`, { headers: { authorization: `Bearer ${token}` } })).status;

  it('accepts tokens of the current key, follows a rotation, and refuses the retired key', async () => {
    const first = await signer('ES256', 'key-1');
    const second = await signer('RS256', 'key-2');
    keys = [first.jwk];

    expect(await status(await first.sign('cust-1'))).toBe(200);
    expect(await status(await first.sign('cust-1'))).toBe(200);
    expect(fetches).toBe(1); // cached

    keys = [second.jwk];
    expect(await status(await second.sign('cust-1'))).toBe(200);
    expect(fetches).toBe(2);
    expect(await status(await first.sign('cust-1'))).toBe(401);
    expect(fake.received.map((r) => r.headers[PrincipalHeader.Subject])).toEqual(['cust-1', 'cust-1', 'cust-1']);
  });
});
