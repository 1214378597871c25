import { OrderStatus, type TerminalOrderStatus } from '@shopflow/contracts';
import type { Notification } from './notification.js';

/** Who an email comes from and where it goes; `to` may hold `{customer_id}`. */
export interface EmailAddressing {
  /** An address, optionally with a display name: `Shopflow <orders@shopflow.local>`. */
  from: string;
  /** The recipient's address, with `{customer_id}` standing for the customer's id. */
  to: string;
}

/** One email, ready for a mail transport. */
export interface Email {
  from: string;
  to: string;
  subject: string;
  text: string;
  /** `<notification-id@from-domain>`: the same for every attempt, so a copy can be recognised. */
  messageId: string;
  headers: Record<string, string>;
}

export const CUSTOMER_ID_PLACEHOLDER = '{customer_id}';

const SUBJECT: Readonly<Record<TerminalOrderStatus, (orderId: string) => string>> = {
  [OrderStatus.Completed]: (id) => `Your order ${id} is complete`,
  [OrderStatus.Cancelled]: (id) => `Your order ${id} was cancelled`,
  [OrderStatus.Failed]: (id) => `Your order ${id} could not be completed`,
};

/**
 * A customer id as the local part of an address. Ids may hold characters an address may not
 * (`:`), so anything but letters, digits, `.`, `_`, `+` and `-` is percent-encoded (`%` is allowed
 * in a local part), and so are dots where a local part may not have them (first, last, doubled).
 */
export function localPartOf(customerId: string): string {
  const hex = (c: string) =>
    [...new TextEncoder().encode(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  const encoded = customerId.replace(/[^A-Za-z0-9._+-]/gu, hex);
  return /^\.|\.$|\.\./.test(encoded) ? encoded.replaceAll('.', '%2E') : encoded;
}

/** The address a customer's notifications go to, from the `to` pattern. */
export function recipientFor(pattern: string, customerId: string): string {
  return pattern.replaceAll(CUSTOMER_ID_PLACEHOLDER, localPartOf(customerId));
}

/** The bare address in `Name <local@domain>` or `local@domain`, or undefined when there is none. */
export function addressIn(mailbox: string): string | undefined {
  const bare = /<([^<>\s]+)>\s*$/.exec(mailbox)?.[1] ?? mailbox.trim();
  return isAddress(bare) ? bare : undefined;
}

/** A plain `local@domain` address: no spaces, no brackets, a dotted or single-label domain. */
export function isAddress(address: string): boolean {
  return /^[^\s@<>"(),;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(
    address,
  );
}

/** The email a notification becomes. */
export function emailFor(n: Notification, addressing: EmailAddressing): Email {
  const domain = addressIn(addressing.from)?.split('@')[1] ?? 'shopflow';
  return {
    from: addressing.from,
    to: recipientFor(addressing.to, n.customerId),
    subject: SUBJECT[n.orderStatus](n.orderId),
    text: [n.message, '', `Order: ${n.orderId}`, `Outcome: ${n.orderStatus}`, '', `Shopflow (notification ${n.id})`, ''].join(
      '\n',
    ),
    messageId: `<${n.id}@${domain}>`,
    headers: {
      // RFC 3834: an automatic message, so that vacation responders leave it alone.
      'Auto-Submitted': 'auto-generated',
      'X-Shopflow-Order-Id': n.orderId,
      'X-Shopflow-Notification-Id': n.id,
    },
  };
}
