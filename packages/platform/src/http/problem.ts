import { Problem, problemResponses } from '@shopflow/contracts/api';
import { type AppError, httpStatusOf, type FieldError } from '../errors.js';

// Defined with the public API's schemas; servers and route modules take them from here too.
export { Problem, problemResponses };

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
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

/** The problem an AppError answers with: its status, its type, and no internals for a 5xx. */
export function problemOf(error: AppError, instance?: string): Problem {
  const status = httpStatusOf[error.code];
  const slug = error.type ?? error.code.toLowerCase().replaceAll('_', '-');
  return problem(status, slug, status >= 500 ? undefined : error.message, error.errors, instance);
}
