import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Role } from '@shopflow/contracts/api';
import { mintToken, type DevKey } from '@shopflow/platform/auth';
import { waitFor } from '@shopflow/devkit';
import { startStage, testKey, type Stage } from './support.js';

// The dashboard's HTTP side in front of fake services: sign-in, the session cookie and what it may
// reach, cross-site refusals, the live stream and its polling. The browser test (tests/e2e) runs
// the page itself against the whole system.

const ORDER = {
  id: 'o-1',
  customer_id: 'DEMO',
  product_id: 'PROD001',
  quantity: 1,
  amount: 9.99,
  status: 'PENDING',
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
};
const STATS = {
  counts: { PENDING: 1, CONFIRMED: 0, PAYMENT_PROCESSING: 0, COMPLETED: 0, CANCELLED: 0, FAILED: 0 },
  recent: {
    window_s: 60,
    placed: 1,
    counts: { PENDING: 1, CONFIRMED: 0, PAYMENT_PROCESSING: 0, COMPLETED: 0, CANCELLED: 0, FAILED: 0 },
  },
  as_of: '2026-01-01T00:00:00.000Z',
};

describe('the dashboard at the gateway', () => {
  let stage: Stage;
  let base: string;
  let key: DevKey;
  let admin: string;
  let customer: string;
  /** Orders the fake order service lists; a POST /orders adds one. */
  let listed: (typeof ORDER)[];

  beforeAll(async () => {
    key = await testKey();
    stage = await startStage(key, { dashboardTiming: { tickMs: 50, statsEvery: 2, slowEvery: 4 } });
    base = stage.gateway.url;
    admin = await mintToken(key, { subject: 'ops', role: Role.Admin });
    customer = await mintToken(key, { subject: 'cust-1' });
    stage.fakes.order.answer = async (request, reply) => {
      const path = request.url.split('?')[0];
      if (path === '/ready') return reply.send({ status: 'ready', checks: { database: 'ok' } });
      if (request.method === 'GET' && path === '/orders') return reply.send({ orders: listed, next_cursor: null });
      if (path === '/orders/stats') return reply.send(STATS);
      if (request.method === 'POST' && path === '/orders') {
        const order = { ...ORDER, id: `o-${listed.length + 1}` };
        listed.unshift(order);
        return reply.code(201).send(order);
      }
      return reply.code(404).send({});
    };
    stage.fakes.saga.answer = async (request, reply) => {
      const path = request.url.split('?')[0];
      if (path === '/ready') return reply.code(503).send({ status: 'not ready', checks: { nats: 'not connected yet' } });
      if (path === '/sagas') return reply.send({ sagas: [], next_cursor: null });
      if (path === '/dlq') return reply.send({ dead_letters: [], total: 0 });
      if (path === '/sagas/o-1') return reply.send({ saga: { order_id: 'o-1', trace_id: 'abc' }, steps: [] });
      if (path === '/sagas/o-1/retry') return reply.send({ order_id: 'o-1', state: 'COMPENSATING' });
      if (path === '/dlq/7/replay') return reply.send({ seq: 7, subject: 'orders.created' });
      return reply.code(404).type('application/problem+json').send({ status: 404, title: 'Not Found' });
    };
  });
  afterAll(async () => {
    await stage?.stop();
  });
  beforeEach(() => {
    listed = [{ ...ORDER }];
    for (const fake of Object.values(stage.fakes)) fake.received.length = 0;
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers, redirect: 'manual' });
  const post = (path: string, headers: Record<string, string>, body?: string) =>
    fetch(`${base}${path}`, { method: 'POST', headers, body, redirect: 'manual' });
  const cookieOf = (token: string) => ({ cookie: `shopflow_dashboard=${token}` });
  /** What the dashboard's own script sends with an action. */
  const fromPage = { 'x-shopflow-dashboard': '1', 'sec-fetch-site': 'same-origin' };

  it('shows the sign-in prompt without a session, under a strict Content-Security-Policy', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    const html = await res.text();
    expect(html).toContain('<form method="post" action="/-/session"');
    expect(html).not.toMatch(/<script(?![^>]*src=)/);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('takes an admin token once from ?token=, keeps it in an HttpOnly SameSite=Strict cookie and drops it from the address', async () => {
    const res = await get(`/?token=${admin}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(new RegExp(`^shopflow_dashboard=${admin.replaceAll('.', '\\.')};`));
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    expect(Number(/Max-Age=(\d+)/.exec(cookie)?.[1])).toBeGreaterThan(0);

    const page = await get('/', cookieOf(admin));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('signed in as <strong id="subject">ops</strong>');
  });

  it("refuses a customer's token with 403 and an invalid one with 401, setting no cookie", async () => {
    for (const [token, status, says] of [
      [customer, 403, 'not an admin token'],
      ['not.a.token', 401, 'not valid'],
      [`${admin}x`, 401, 'not valid'],
    ] as const) {
      const res = await get(`/?token=${encodeURIComponent(token)}`);
      expect(res.status, token).toBe(status);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.text()).toContain(says);
    }
  });

  it('signs in from the prompt only from its own page', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const crossSite = await post('/-/session', { ...form, origin: 'https://evil.example' }, `token=${admin}`);
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.get('set-cookie')).toBeNull();

    const host = new URL(base).host;
    const ok = await post('/-/session', { ...form, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' }, `token=${admin}`);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('set-cookie')).toContain('HttpOnly');
    const refused = await post('/-/session', { ...form, origin: `http://${host}` }, `token=${customer}`);
    expect(refused.status).toBe(403);

    const out = await post('/-/session/end', { ...form, ...cookieOf(admin), origin: `http://${host}` }, '');
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/^shopflow_dashboard=;.*Max-Age=0/);
  });

  it('lets the cookie reach only the dashboard: the API still wants a bearer token', async () => {
    const api = await get('/sagas', cookieOf(admin));
    expect(api.status).toBe(401);
    expect(stage.received()).toEqual([]);

    expect((await get('/-/api/sagas/o-1')).status).toBe(401);
    expect((await get('/-/api/sagas/o-1', cookieOf(customer))).status).toBe(401);
    expect((await get('/-/api/sagas/o-1', { authorization: `Bearer ${admin}` })).status).toBe(401);
    const timeline = await get('/-/api/sagas/o-1', cookieOf(admin));
    expect(timeline.status).toBe(200);
    expect(await timeline.json()).toMatchObject({ saga: { trace_id: 'abc' } });
    // The operator's own principal goes to the saga service.
    expect(stage.fakes.saga.received.find((r) => r.url === '/sagas/o-1')?.headers).toMatchObject({
      'x-shopflow-subject': 'ops',
      'x-shopflow-role': 'admin',
    });
    expect((await get('/-/api/sagas/nope', cookieOf(admin))).status).toBe(404);
  });

  it('refuses state changes that may come from another site', async () => {
    const json = { ...cookieOf(admin), 'content-type': 'application/json' };
    const body = JSON.stringify({ count: 2 });
    const refusals: Record<string, string>[] = [
      {}, // no header: a plain form of another site could send this
      { 'x-shopflow-dashboard': '1', 'sec-fetch-site': 'cross-site' },
      { 'x-shopflow-dashboard': '1', origin: 'https://evil.example' },
      { 'x-shopflow-dashboard': '1', origin: 'null' },
    ];
    for (const headers of refusals) {
      const res = await post('/-/api/test-orders', { ...json, ...headers }, body);
      expect(res.status, JSON.stringify(headers)).toBe(403);
    }
    expect(stage.fakes.order.received.filter((r) => r.method === 'POST')).toEqual([]);

    const placed = await post('/-/api/test-orders', { ...json, ...fromPage }, body);
    expect(placed.status).toBe(200);
    expect(await placed.json()).toEqual({ placed: ['o-2', 'o-3'], refused: [] });
    const sent = stage.fakes.order.received.filter((r) => r.method === 'POST');
    expect(sent).toHaveLength(2);
    expect(JSON.parse(sent[0]!.body)).toEqual({ customer_id: 'DEMO', product_id: 'PROD001', quantity: 1, amount: 9.99 });
    expect(sent[0]!.headers).toMatchObject({ 'x-shopflow-subject': 'DEMO', 'x-shopflow-role': 'customer' });
    // Each test order is the root of a trace of its own.
    const traces = sent.map((r) => String(r.headers.traceparent).split('-')[1]);
    expect(new Set(traces).size).toBe(2);

    const tooMany = await post('/-/api/test-orders', { ...json, ...fromPage }, JSON.stringify({ count: 1000 }));
    expect(tooMany.status).toBe(400);
  });

  it("passes an operator's retry and replay to the saga service as that operator, refusing them cross-site", async () => {
    for (const path of ['/-/api/sagas/o-1/retry', '/-/api/dlq/7/replay']) {
      expect((await post(path, { ...cookieOf(admin), 'sec-fetch-site': 'cross-site', 'x-shopflow-dashboard': '1' })).status).toBe(
        403,
      );
      const res = await post(path, { ...cookieOf(admin), ...fromPage });
      expect(res.status, path).toBe(200);
    }
    expect(stage.fakes.saga.received.map((r) => [r.method, r.url, r.headers['x-shopflow-subject']])).toEqual([
      ['POST', '/sagas/o-1/retry', 'ops'],
      ['POST', '/dlq/7/replay', 'ops'],
    ]);
    expect((await post('/-/api/dlq/0/replay', { ...cookieOf(admin), ...fromPage })).status).toBe(400);
  });

  it('streams orders, counts and health while a page listens, and stops polling when it leaves', async () => {
    const dashboard = stage.gateway.app.app.dashboard;
    const aborting = new AbortController();
    const res = await fetch(`${base}/-/api/events`, { headers: cookieOf(admin), signal: aborting.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = readEvents(res.body!);

    const first = await nextEvent(events, 'orders');
    expect(first.orders.map((o: { id: string }) => o.id)).toEqual(['o-1']);
    expect((await nextEvent(events, 'stats')).counts.PENDING).toBe(1);
    const health = await nextEvent(events, 'health');
    expect(health.services.map((s: { name: string }) => s.name)).toEqual([
      'gateway',
      'order',
      'payment',
      'inventory',
      'notification',
      'saga',
    ]);
    const instance = (name: string) => health.services.find((s: { name: string }) => s.name === name).instances[0];
    expect(instance('order')).toMatchObject({
      status: 'ready',
      checks: { database: 'ok' },
      address: new URL(stage.fakes.order.url).host,
    });
    expect(instance('saga')).toMatchObject({ status: 'not ready', checks: { nats: 'not connected yet' } });
    expect(instance('payment')).toMatchObject({ status: 'ready' });

    // A change in the list arrives alone.
    listed.unshift({ ...ORDER, id: 'o-9', status: 'COMPLETED' });
    const changed = await nextEvent(events, 'orders');
    expect(changed.orders.map((o: { id: string }) => o.id)).toEqual(['o-9']);
    expect(dashboard.feed.audience).toBe(1);

    aborting.abort();
    await waitFor('the feed to lose its page', () => dashboard.feed.audience === 0);
    await waitFor('the polling loop to end', () => !dashboard.feed.polling);
    // No page, no polling: the order service hears nothing more, whatever else happens.
    const polls = () => stage.fakes.order.received.filter((r) => r.url.startsWith('/orders?')).length;
    const after = polls();
    for (let i = 0; i < 5; i++) expect((await get('/health')).status).toBe(200);
    expect(polls()).toBe(after);
  });

  it('refuses the live stream without a session', async () => {
    const res = await get('/-/api/events');
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('serves its script and style as files, never sniffed', async () => {
    const js = await get('/-/dashboard.js');
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await js.text()).toContain("new EventSource('/-/api/events')");
    const css = await get('/-/dashboard.css');
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('ends open live streams when the gateway stops', async () => {
    const other = await startStage(key, { dashboardTiming: { tickMs: 50, statsEvery: 2, slowEvery: 4 } });
    other.fakes.order.answer = stage.fakes.order.answer;
    other.fakes.saga.answer = stage.fakes.saga.answer;
    const res = await fetch(`${other.gateway.url}/-/api/events`, { headers: cookieOf(admin) });
    const events = readEvents(res.body!);
    await nextEvent(events, 'orders');
    await other.stop();
    // The stream ends instead of holding the shutdown open.
    await expect(drain(events)).resolves.toBeUndefined();
    expect(other.gateway.app.app.dashboard.feed.audience).toBe(0);
  });
});

type Events = AsyncGenerator<{ event: string; data: any }>;

/** The Server-Sent Events of a response body, one at a time. */
async function* readEvents(body: ReadableStream<Uint8Array>): Events {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (event && data) yield { event, data: JSON.parse(data) };
    }
  }
}

/** The data of the next `name` event; the stream must bring one within the test's timeout. */
async function nextEvent(events: Events, name: string): Promise<any> {
  for (;;) {
    const next = await events.next();
    if (next.done) throw new Error(`the stream ended before a ${name} event`);
    if (next.value.event === name) return next.value.data;
  }
}

async function drain(events: Events): Promise<void> {
  while (!(await events.next()).done);
}
