import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Subject } from '@shopflow/contracts';
import { Role } from '@shopflow/contracts/api';
import { REPO_ROOT, TestSystem } from '@shopflow/devkit';
import { createLogger } from '@shopflow/platform/logger';
import { connectMessaging, type Messaging } from '@shopflow/platform/messaging';

// The operators' dashboard in a real browser (Debian's chromium, driven by playwright-core)
// against the whole system. With SHOPFLOW_SCREENSHOT=<file> (`npm run screenshot`), it also
// photographs the page once it shows a few orders.

/** The page's document, as the functions passed to page.evaluate use it (they run in the browser; this program has no DOM types). */
declare const document: {
  cookie: string;
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): Iterable<{ getAttribute(name: string): string | null }>;
};

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = process.env.SHOPFLOW_SCREENSHOT;
/** How long the page may take to show what the system did: a deadline, not a pause. */
const SEEN_WITHIN_MS = 30_000;

describe('the dashboard in a browser (whole system, payments always succeed)', () => {
  let system: TestSystem;
  let browser: Browser;
  let gw: string;
  let admin: string;
  let nats: Messaging | undefined;
  /** Errors the pages logged, Content-Security-Policy violations included. */
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    system = await TestSystem.start({ databases: 'sqlite', env: { PAYMENT_SUCCESS_RATE: '1' } });
    gw = system.gatewayUrl;
    admin = await system.token('ops', Role.Admin);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await nats?.close();
    await system?.stop();
  });

  async function open(context: BrowserContext, url: string): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(SEEN_WITHIN_MS);
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.goto(url);
    return page;
  }

  it('signs in with ?token= once, then shows a live order reaching COMPLETED and its saga timeline', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 800 } });
    const page = await open(context, `${gw}/?token=${admin}`);

    // The token went into an HttpOnly, SameSite=Strict cookie and out of the address.
    expect(page.url()).toBe(`${gw}/`);
    const [cookie] = (await context.cookies()).filter((c) => c.name === 'shopflow_dashboard');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await expect(page.locator('#subject').textContent()).resolves.toBe('ops');

    // Live, and every service ready.
    await page.locator('#connection[data-state="live"]').waitFor();
    for (const name of ['gateway', 'order', 'payment', 'inventory', 'notification', 'saga']) {
      await page.locator(`#services tr[data-service="${name}"][data-status="ready"]`).waitFor();
    }

    // A test order from the page, followed in the live list until it completes.
    await page.locator('#test-order-count').fill('1');
    await page.locator('#place-test-orders').click();
    const result = page.locator('#test-orders-result[data-placed]');
    await result.waitFor();
    const orderId = (await result.getAttribute('data-placed'))!;
    expect(orderId).toMatch(/^[0-9a-f-]{36}$/);
    const row = page.locator(`#orders tr[data-order="${orderId}"]`);
    await page.locator(`#orders tr[data-order="${orderId}"][data-status="COMPLETED"]`).waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe('DEMO');

    // Its saga: every step, each with its duration, and the trace id.
    await row.click();
    await page.locator('#timeline-state', { hasText: 'COMPLETED' }).waitFor();
    for (const step of ['reserve-stock', 'charge-payment', 'commit-stock']) {
      await page.locator(`#timeline tr[data-action="${step}"][data-result="ok"]`).waitFor();
    }
    await expect(page.locator('#trace-id').textContent()).resolves.toMatch(/^[0-9a-f]{32}$/);
    const durations = await page.locator('#timeline tr.step td.num').allTextContents();
    expect(durations.length).toBeGreaterThanOrEqual(3);
    expect(durations.every((d) => /^\d+$/.test(d))).toBe(true);

    // The counts follow.
    await page.waitForFunction(
      () => Number(document.querySelector('[data-count="completed"] .n')?.textContent ?? 0) >= 1,
      undefined,
      { timeout: SEEN_WITHIN_MS },
    );

    if (SCREENSHOT) await photograph(page);
    expect(consoleErrors).toEqual([]);
    await context.close();
  });

  it('lists a dead letter and replays it from the page', async () => {
    // A malformed orders.created: the saga's consumer dead-letters it at once.
    nats = await connectMessaging(system.natsUrl, 'dashboard-test', createLogger('test', 'silent'), system.natsAdmin);
    const poison = JSON.stringify({ event_type: 'OrderCreated', order_id: 'not-an-order' });
    await nats.js.publish(Subject.OrderCreated, poison);

    const context = await browser.newContext();
    const page = await open(context, `${gw}/?token=${admin}`);
    const letter = page.locator('#dlq tr[data-seq]');
    await letter.first().waitFor();
    const seq = await letter.first().getAttribute('data-seq');
    expect(await letter.first().locator('td').nth(1).textContent()).toBe(Subject.OrderCreated);

    await letter.first().locator('button', { hasText: 'Replay' }).click();
    await page.locator('#flash', { hasText: `dead letter #${seq} replayed on ${Subject.OrderCreated}` }).waitFor();
    // Still malformed, so dead-lettered again under a new sequence: the list shows that one instead.
    await page.waitForFunction(
      (old) => {
        const seqs = [...document.querySelectorAll('#dlq tr[data-seq]')].map((r) => r.getAttribute('data-seq'));
        return seqs.length > 0 && !seqs.includes(old);
      },
      seq,
      { timeout: SEEN_WITHIN_MS },
    );
    expect(consoleErrors).toEqual([]);
    await context.close();
  });

  it('shows the sign-in prompt without a token, refuses a customer token, and signs in from the prompt', async () => {
    const context = await browser.newContext();
    const page = await open(context, `${gw}/`);
    await page.locator('form#sign-in').waitFor();
    expect(await page.locator('#subject').count()).toBe(0);

    await page.locator('#token').fill(await system.token('CUST001'));
    const [refused] = await Promise.all([page.waitForResponse(`${gw}/-/session`), page.locator('#sign-in button').click()]);
    expect(refused.status()).toBe(403);
    await expect(page.locator('#sign-in-error').textContent()).resolves.toContain('not an admin token');
    expect(await context.cookies()).toEqual([]);

    const customerLink = await open(context, `${gw}/?token=${await system.token('CUST001')}`);
    await expect(customerLink.locator('#sign-in-error').textContent()).resolves.toContain('not an admin token');

    await page.locator('#token').fill(admin);
    await page.locator('#sign-in button').click();
    await page.locator('#connection[data-state="live"]').waitFor();
    expect(page.url()).toBe(`${gw}/`);

    // Signing out ends the session: the prompt again, and the live stream refused.
    await page.locator('#sign-out').click();
    await page.locator('form#sign-in').waitFor();
    expect(await context.cookies()).toEqual([]);
    const stream = await page.evaluate(async () => (await fetch('/-/api/events')).status);
    expect(stream).toBe(401);
    // The refusals above are the page's own 401/403 answers, not script or policy errors.
    expect(consoleErrors.filter((e) => !/status of 40[13]/.test(e))).toEqual([]);
    await context.close();
  });
});

/** A few more orders, settled and counted, then the page as an operator sees it. */
async function photograph(page: Page): Promise<void> {
  const before = await page.locator('#orders tr[data-status]').count();
  await page.locator('#test-order-count').fill('6');
  await page.locator('#place-test-orders').click();
  await page.locator('#test-orders-result', { hasText: 'placed 6' }).waitFor();
  await page.waitForFunction(
    (expected) => {
      const statuses = [...document.querySelectorAll('#orders tr[data-status]')].map((r) => r.getAttribute('data-status'));
      const completed = statuses.filter((s) => s === 'COMPLETED').length;
      const counted = (label: string) => document.querySelector(`[data-count="${label}"] .n`)?.textContent;
      return (
        statuses.length === expected &&
        completed === expected &&
        counted('completed') === String(expected) &&
        counted('in flight') === '0'
      );
    },
    before + 6,
    { timeout: SEEN_WITHIN_MS },
  );
  const file = path.resolve(REPO_ROOT, SCREENSHOT!);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file, fullPage: true });
}
