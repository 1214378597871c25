import type { FastifyReply, FastifyRequest, RequestPayload } from 'fastify';
import { PrincipalHeader, Role, type Access, type Principal } from '@shopflow/contracts/api';
import { PROBLEM_CONTENT_TYPE, problem } from '@shopflow/platform/http';
import type { Identity } from './identity.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (contracts' `access`); routes without it are the gateway's own probes and docs. */
    access?: Access;
  }
  interface FastifyRequest {
    /** The caller a valid bearer token proved, if any. */
    principal: Principal | undefined;
    /** Why the bearer token the caller sent proves nothing. */
    tokenProblem: string | undefined;
  }
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * Stands for a caller without a token on an anonymous route: the services always get a principal
 * from the gateway (none would mean a trusted internal caller), and this subject is no valid id,
 * so it owns nothing.
 */
export const ANONYMOUS: Principal = { subject: '~anonymous', role: Role.Customer };

/** The principal headers for the services, replacing any the client sent. */
export function principalHeaders(principal: Principal | undefined): Record<string, string> {
  const p = principal ?? ANONYMOUS;
  return { [PrincipalHeader.Subject]: p.subject, [PrincipalHeader.Role]: p.role };
}

/**
 * onRequest: verifies the bearer token of a request to a route with `access`, recording the
 * principal or why the token failed. It answers nothing itself, so that the rate limit, which runs
 * next, counts failed attempts too (by client address).
 */
export function authenticate(identity: Identity) {
  // Callback-style, as `authorize`: a request without a token, the common case, makes no promise.
  return (request: FastifyRequest, _reply: FastifyReply, done: () => void): void => {
    const header = request.headers.authorization;
    if (header === undefined || request.routeOptions.config.access === undefined) return done();
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) {
      request.tokenProblem = 'the Authorization header is not a bearer token';
      return done();
    }
    identity.verify(token).then(
      (principal) => {
        request.principal = principal;
        done();
      },
      (error: unknown) => {
        request.tokenProblem = (error as Error).message;
        done();
      },
    );
  };
}

/** preParsing, after the rate limit: 401 without a valid token where one is needed (or a bad one anywhere), 403 for the wrong role. */
export function authorize(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: RequestPayload,
  done: (error: null, payload: RequestPayload) => void,
): void {
  const access = request.routeOptions.config.access;
  if (access === undefined) return done(null, payload);
  if (request.tokenProblem !== undefined) {
    request.log.debug({ reason: request.tokenProblem }, 'bearer token refused');
    return deny(
      reply,
      401,
      'unauthorized',
      'the bearer token is invalid or expired',
      'Bearer realm="shopflow", error="invalid_token"',
    );
  }
  if (access === 'anonymous') return done(null, payload);
  if (request.principal === undefined) {
    return deny(reply, 401, 'unauthorized', 'this route needs a bearer token', 'Bearer realm="shopflow"');
  }
  if (access === 'admin' && request.principal.role !== Role.Admin) {
    return deny(reply, 403, 'forbidden', 'this route needs an admin token');
  }
  done(null, payload);
}

/** Answers the request itself; its hook then does not call `done`, so nothing after it runs. */
function deny(reply: FastifyReply, status: number, slug: string, detail: string, challenge?: string): void {
  if (challenge !== undefined) void reply.header('www-authenticate', challenge);
  void reply
    .code(status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(problem(status, slug, detail, undefined, reply.request.url));
}
