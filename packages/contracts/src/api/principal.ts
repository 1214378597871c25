/**
 * The caller the gateway verified, passed to the services in headers the gateway sets itself
 * (any copy the client sent is stripped). A request without them did not come through the
 * gateway: an internal caller on the services' loopback network, trusted as such.
 */
export const PrincipalHeader = {
  /** The token's subject: the customer id, or the admin's id. */
  Subject: 'x-shopflow-subject',
  /** `customer` or `admin`. */
  Role: 'x-shopflow-role',
} as const;

export const Role = { Customer: 'customer', Admin: 'admin' } as const;
export type Role = (typeof Role)[keyof typeof Role];

/** A verified caller. */
export interface Principal {
  subject: string;
  role: Role;
}

/**
 * The principal in a request's headers, or undefined for an internal caller (neither header).
 * Headers that are present but malformed throw: that fails closed rather than trusting the call.
 */
export function principalOf(headers: Record<string, string | string[] | undefined>): Principal | undefined {
  const subject = headers[PrincipalHeader.Subject];
  const role = headers[PrincipalHeader.Role];
  if (subject === undefined && role === undefined) return undefined;
  if (typeof subject !== 'string' || subject === '' || (role !== Role.Customer && role !== Role.Admin)) {
    throw new Error('malformed principal headers');
  }
  return { subject, role };
}
