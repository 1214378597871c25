import type { FastifyRequest } from 'fastify';
import { PrincipalHeader, Role, principalOf, type Principal } from '@shopflow/contracts/api';
import { AppError, ErrorCode } from '../errors.js';
import { notFound } from './handlers.js';

/**
 * The caller the gateway verified, from request headers (or gRPC metadata), or undefined for an
 * internal caller. Malformed principal headers are an InvalidArgument: refused rather than trusted.
 */
export function callerOf(headers: Record<string, string | string[] | undefined>): Principal | undefined {
  try {
    return principalOf(headers);
  } catch {
    throw AppError.invalid(PrincipalHeader.Role, 'principal headers are malformed');
  }
}

/** `callerOf` a Fastify request. */
export function requestPrincipal(request: FastifyRequest): Principal | undefined {
  return callerOf(request.headers);
}

/** True when the caller may act on what `customerId` owns: internal callers and admins on anything, a customer on its own. */
export function actsFor(principal: Principal | undefined, customerId: string): boolean {
  return principal?.role !== Role.Customer || principal.subject === customerId;
}

/** `entity` when the caller may see it; otherwise the same 404 as a missing one, so that ids do not leak. */
export function ownedOrNotFound<T extends { customerId: string }>(
  entity: T | undefined,
  principal: Principal | undefined,
  what: string,
  id: string,
): T {
  if (entity === undefined || !actsFor(principal, entity.customerId)) notFound(what, id);
  return entity;
}

/**
 * The customer a create or a list is about. A customer gets its own id, whether it named itself or
 * sent none; naming anyone else is a 403. Admins and internal callers get what they asked for.
 */
export function customerScope(principal: Principal | undefined, requested: string | undefined): string | undefined {
  if (principal?.role !== Role.Customer) return requested;
  if (requested !== undefined && requested !== principal.subject) {
    throw new AppError(ErrorCode.Forbidden, `customer ${principal.subject} may not act for customer ${requested}`, {
      errors: [{ field: 'customer_id', reason: "is not the caller's own customer id" }],
    });
  }
  return principal.subject;
}
