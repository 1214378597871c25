import { LIST_LIMIT } from '@shopflow/contracts/api';
import { AppError, ErrorCode } from '../errors.js';

/** Throws the AppError that a missing entity should answer with: 404 `<what> <id> not found`. */
export function notFound(what: string, id: string): never {
  throw new AppError(ErrorCode.NotFound, `${what} ${id} not found`);
}

/** `value` when a lookup found it; otherwise throws the 404 of `notFound(what, id)`. */
export function orNotFound<T>(value: T | null | undefined, what: string, id: string): T {
  if (value === null || value === undefined) notFound(what, id);
  return value;
}

/** The number of items a list should answer with, from a `?limit=` the `Limit` schema has already checked. */
export function listLimit(limit: string | undefined): number {
  return Math.min(Number(limit ?? LIST_LIMIT.default), LIST_LIMIT.max);
}
