import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@shopflow/contracts/api';
import { PUBLIC_API } from '../src/routes/proxy.js';
import { PAYMENT, bearer, startStage, testKey, testSettings, type Stage } from './support.js';

const ROUTES = [
  ...Object.values(PUBLIC_API).flatMap((api) => Object.values(api.routes).map((r) => ({ method: r.method, url: r.url }))),
  { method: 'GET', url: '/payments/:payment_id' },
];

describe('gateway under random requests to every public route', () => {
  let stage: Stage;
  let tokens: string[];

  beforeAll(async () => {
    const key = await testKey();
    tokens = [
      '',
      (await bearer(key, PAYMENT.customerId)).authorization!,
      (await bearer(key, 'ops-1', Role.Admin)).authorization!,
      'Bearer not.a.token',
      'Bearer ',
    ];
    stage = await startStage(key, { settings: testSettings({ rateLimit: { ...testSettings().rateLimit, perSecond: 0 } }) });
  });
  afterAll(async () => {
    await stage?.stop();
  });

  it('never answers a 5xx of its own nor shows a stack trace', async () => {
    // Any text in a parameter, sent either encoded or raw (as far as the URL parser lets it through).
    const segment = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('..', '.', '%2e', '%2F', '\\', '%00', '%zz', ''),
    );
    const request = fc.record({
      route: fc.constantFrom(...ROUTES),
      params: fc.array(segment, { minLength: 2, maxLength: 2 }),
      encode: fc.boolean(),
      query: fc.string({ maxLength: 30 }),
      token: fc.nat({ max: tokens.length - 1 }),
      contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
      body: fc.string({ unit: 'binary', maxLength: 200 }),
    });

    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        let i = 0;
        const path = r.route.url.replace(/:\w+|\*/g, () => {
          const p = r.params[i++] ?? '';
          return r.encode ? encodeURIComponent(p) : p;
        });
        let url: URL;
        try {
          url = new URL(`${stage.gateway.url}${path}?${r.query}`);
        } catch {
          return; // not a URL a client could send
        }
        const headers: Record<string, string> = {};
        if (tokens[r.token]) headers.authorization = tokens[r.token]!;
        if (r.contentType) headers['content-type'] = r.contentType;
        const res = await fetch(url, { method: r.route.method, headers, ...(r.route.method === 'GET' ? {} : { body: r.body }) });
        const text = await res.text();
        expect(res.status, `${r.route.method} ${url.pathname}`).toBeLessThan(500);
        expect(text).not.toMatch(/\n\s+at |node:internal|\.ts:\d+/);
      }),
      { numRuns: 300 },
    );
  });
});
