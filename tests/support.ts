import { expect } from 'vitest';
import { waitFor } from '@shopflow/devkit';

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Where a call goes: a base URL, or a base URL and the caller's headers (its bearer token). */
export type Target = string | { url: string; headers: Record<string, string> };

/** A tiny JSON client for the public API. */
export async function call<T = any>(
  target: Target,
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<JsonResponse<T>> {
  const [base, headers] =
    typeof target === 'string' ? [target, extraHeaders] : [target.url, { ...target.headers, ...extraHeaders }];
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text so the assertion shows it
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

const TERMINAL = ['COMPLETED', 'CANCELLED', 'FAILED'];

/** Waits until the order is in a terminal status and returns it. */
export async function settled(base: Target, orderId: string, timeoutMs = 30_000): Promise<any> {
  return waitFor(
    `order ${orderId} to settle`,
    async () => {
      const res = await call(base, 'GET', `/orders/${orderId}`);
      return TERMINAL.includes(res.body?.status) ? res.body : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** Asserts an RFC 9457 problem response naming `field`. */
export function expectProblem(res: JsonResponse, status: number, field?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, type: expect.stringMatching(/^urn:shopflow:problem:/), title: expect.any(String) });
  if (field) expect(JSON.stringify(res.body.errors ?? res.body.detail)).toContain(field);
}
