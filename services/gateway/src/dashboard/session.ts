import type { FastifyRequest } from 'fastify';
import { parseCookie, stringifySetCookie } from 'cookie';
import { decodeJwt } from 'jose';
import { Role, type Principal } from '@shopflow/contracts/api';
import type { Identity } from '../auth/identity.js';

/** The dashboard's session cookie: the admin token itself, where page scripts cannot read it. */
export const SESSION_COOKIE = 'shopflow_dashboard';

/**
 * The header every state-changing call of the dashboard's script carries. A page of another site
 * cannot send it without a CORS preflight, which the gateway never grants.
 */
export const ACTION_HEADER = 'x-shopflow-dashboard';

// A JWS compact serialisation, and a bound on what is worth verifying.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 8192;

/** An operator signed in to the dashboard. */
export interface DashboardSession {
  principal: Principal;
  token: string;
  /** When the token expires (epoch ms): the session ends with it. */
  expiresAt: number;
}

/** What a token presented to the dashboard proves: a session, nothing (401), or a caller who is no admin (403). */
export type SignIn = { kind: 'signed-in'; session: DashboardSession } | { kind: 'invalid' } | { kind: 'not-admin' };

/** Verifies a token as the API does (same keys, issuer, audience and expiry) and requires the admin role. */
export async function signIn(identity: Identity, token: string): Promise<SignIn> {
  if (token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token)) return { kind: 'invalid' };
  let principal: Principal;
  try {
    principal = await identity.verify(token);
  } catch {
    return { kind: 'invalid' };
  }
  if (principal.role !== Role.Admin) return { kind: 'not-admin' };
  // Verified just above, which requires `exp`: reading it without checking again is safe.
  const expiresAt = (decodeJwt(token).exp ?? 0) * 1000;
  return { kind: 'signed-in', session: { principal, token, expiresAt } };
}

/** The session the request's cookie proves, if any. Only the dashboard's routes read it: the API takes bearer tokens only. */
export async function sessionOf(identity: Identity, request: FastifyRequest): Promise<DashboardSession | undefined> {
  const token = cookieToken(request);
  if (token === undefined) return undefined;
  const result = await signIn(identity, token);
  return result.kind === 'signed-in' ? result.session : undefined;
}

/** True when the request carries a session cookie at all (valid or not). */
export function hasSessionCookie(request: FastifyRequest): boolean {
  return cookieToken(request) !== undefined;
}

function cookieToken(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  return header === undefined ? undefined : parseCookie(header)[SESSION_COOKIE];
}

/**
 * The Set-Cookie that keeps `session`: HttpOnly (no script reads it), SameSite=Strict (no other
 * site's page or link sends it), expiring with the token, Secure when the request came over TLS.
 */
export function sessionCookie(session: DashboardSession, request: FastifyRequest): string {
  const maxAge = Math.max(0, Math.floor((session.expiresAt - Date.now()) / 1000));
  return stringifySetCookie({ name: SESSION_COOKIE, value: session.token, ...attributes(request), maxAge });
}

/** The Set-Cookie that ends the session. */
export function clearedCookie(request: FastifyRequest): string {
  return stringifySetCookie({ name: SESSION_COOKIE, value: '', ...attributes(request), maxAge: 0 });
}

function attributes(request: FastifyRequest) {
  return { path: '/', httpOnly: true, sameSite: 'strict' as const, secure: request.protocol === 'https' };
}

/**
 * Why a state-changing request may come from another site, or undefined when it comes from the
 * dashboard's own page. Browsers send Origin on every POST and Sec-Fetch-Site on every request;
 * when present, both must say "this site". With `requireHeader`, the request must also carry
 * ACTION_HEADER (what the dashboard's script sends; a plain form cannot).
 */
export function crossSiteReason(request: FastifyRequest, requireHeader: boolean): string | undefined {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return `Sec-Fetch-Site is ${String(site)}`;
  const origin = request.headers.origin;
  if (origin !== undefined && originHost(origin) !== request.headers.host) return 'the request comes from another origin';
  if (requireHeader && request.headers[ACTION_HEADER] !== '1') return `the ${ACTION_HEADER} header is missing`;
  return undefined;
}

function originHost(origin: string): string | undefined {
  // "null" (a sandboxed or opaque origin) is no host, so it never matches.
  return URL.canParse(origin) ? new URL(origin).host : undefined;
}
