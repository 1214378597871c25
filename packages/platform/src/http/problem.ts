import { Type, type Static } from '@sinclair/typebox';
import { type AppError, httpStatusOf, type FieldError } from '../errors.js';

/** RFC 9457 problem details, as every 4xx and 5xx body is shaped. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), reason: Type.String() }))),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);
export type Problem = Static<typeof Problem>;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Builds a problem body; `slug` names the problem type (e.g. `validation`, `insufficient-stock`). */
export function problem(status: number, slug: string, detail?: string, errors?: FieldError[], instance?: string): Problem {
  return {
    type: `urn:shopflow:problem:${slug}`,
    title: TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error'),
    status,
    ...(detail === undefined ? {} : { detail }),
    ...(instance === undefined ? {} : { instance }),
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

/** Response schemas for the 4xx/5xx codes a route may answer with. */
export function problemResponses(...codes: number[]): Record<number, typeof Problem> {
  return Object.fromEntries(codes.map((c) => [c, Problem]));
}

/** The problem an AppError answers with: its status, its type, and no internals for a 5xx. */
export function problemOf(error: AppError, instance?: string): Problem {
  const status = httpStatusOf[error.code];
  const slug = error.type ?? error.code.toLowerCase().replaceAll('_', '-');
  return problem(status, slug, status >= 500 ? undefined : error.message, error.errors, instance);
}
