import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, problem } from '@shopflow/platform/http';

// Encoded `/`, `\` or `.`: a server behind may decode them into a path other than the one routed here.
const ENCODED_SEPARATOR = /%(?:2f|5c|2e)/i;
// A segment that is `.` or `..`: every segment of an absolute path follows a `/`.
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

/**
 * Why a request target is ambiguous, or undefined when it is a plain origin-form path: no
 * backslash, no dot segment, no empty segment, no encoded separator or dot.
 */
export function ambiguity(target: string): string | undefined {
  const query = target.indexOf('?');
  const path = query === -1 ? target : target.slice(0, query);
  if (!path.startsWith('/')) return 'the request target is not an absolute path';
  if (path.includes('\\')) return 'the path has a backslash';
  if (ENCODED_SEPARATOR.test(path)) return 'the path has an encoded slash, backslash or dot';
  if (path.includes('//')) return 'the path has an empty segment';
  if (DOT_SEGMENT.test(path)) return 'the path has a dot segment';
  return undefined;
}

/** onRequest, first of all: refuses an ambiguous path with 400 before anything else looks at it. */
export function refuseAmbiguousPaths(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  const reason = ambiguity(request.raw.url ?? '');
  if (reason === undefined) return done();
  // The target is echoed nowhere: it may be crafted.
  void reply
    .code(400)
    .type(PROBLEM_CONTENT_TYPE)
    .send(problem(400, 'ambiguous-path', reason));
}

/**
 * Builds the path to forward for a request that matched `routeUrl`: the route's own path with each
 * parameter, as parsed, percent-encoded again; never the client's bytes. The route is split once,
 * here, so that a request only joins strings.
 */
export function pathBuilder(routeUrl: string): (params: Record<string, string | undefined>) => string {
  // Literal pieces and parameter names alternate: literals[0] name[0] literals[1] ...
  const literals: string[] = [];
  const names: string[] = [];
  let from = 0;
  for (const match of routeUrl.matchAll(/:(\w+)|\*/g)) {
    literals.push(routeUrl.slice(from, match.index));
    names.push(match[1] ?? '*');
    from = match.index + match[0].length;
  }
  const tail = routeUrl.slice(from);
  if (names.length === 0) return () => tail;
  return (params) => {
    let path = '';
    for (let i = 0; i < names.length; i++) path += literals[i]! + encodeURIComponent(params[names[i]!] ?? '');
    return path + tail;
  };
}
