import { ConfigError, envInt, envString } from '@shopflow/platform/config';
import type { DeliveryPolicy } from './domain/delivery.js';
import { addressIn, CUSTOMER_ID_PLACEHOLDER, isAddress, recipientFor, type EmailAddressing } from './domain/email.js';

type Env = Record<string, string | undefined>;

/** How notifications go out by email; present only when `SMTP_URL` is set. */
export interface EmailSettings extends EmailAddressing {
  /** `smtp://` (STARTTLS when the server offers it) or `smtps://` (TLS from the start), with credentials if any. */
  smtpUrl: string;
  /** Bound on one SMTP attempt: connecting, each reply, and the whole send. */
  sendTimeoutMs: number;
  /** SMTP connections kept open, one send on each at a time. */
  connections: number;
}

/** How the sender loop works through recorded notifications. */
export interface DeliverySettings {
  policy: DeliveryPolicy;
  /** Notifications claimed and sent at once. */
  concurrency: number;
  /** How often an idle sender looks for work nobody announced: a sibling instance's, or an operator's re-queue. */
  sweepMs: number;
}

/** Everything the notification service reads from the environment, once, at start-up. */
export interface NotificationSettings {
  delivery: DeliverySettings;
  /** Undefined: notifications are written to the log (the seed's simulated delivery). */
  email: EmailSettings | undefined;
}

export const DEFAULT_FROM = 'Shopflow <orders@shopflow.local>';
export const DEFAULT_TO = `${CUSTOMER_ID_PLACEHOLDER}@customers.example`;

/** Reads the notification service's settings; a malformed one throws a ConfigError naming it. */
export function loadNotificationSettings(env: Env = process.env): NotificationSettings {
  const sendTimeoutMs = envInt('NOTIFY_SEND_TIMEOUT_MS', 10_000, { min: 100 }, env);
  const concurrency = envInt('NOTIFY_CONCURRENCY', 4, { min: 1, max: 64 }, env);
  const retryBaseMs = envInt('NOTIFY_RETRY_BASE_MS', 1000, { min: 1 }, env);
  const delivery: DeliverySettings = {
    policy: {
      maxAttempts: envInt('NOTIFY_MAX_ATTEMPTS', 8, { min: 1 }, env),
      backoff: { baseMs: retryBaseMs, maxMs: envInt('NOTIFY_RETRY_MAX_MS', 300_000, { min: retryBaseMs }, env) },
      // Twice the longest a send may take, so a live sender always records its outcome before its claim runs out.
      leaseMs: 2 * sendTimeoutMs,
    },
    concurrency,
    sweepMs: envInt('NOTIFY_SWEEP_MS', 30_000, { min: 100 }, env),
  };
  const smtpUrl = envString('SMTP_URL', '', env);
  if (smtpUrl === '') return { delivery, email: undefined };
  if (!URL.canParse(smtpUrl) || !/^smtps?:$/.test(new URL(smtpUrl).protocol) || new URL(smtpUrl).hostname === '') {
    throw new ConfigError(`SMTP_URL=${redactUrl(smtpUrl)} is not an smtp:// or smtps:// URL with a host`);
  }
  const from = envString('SMTP_FROM', DEFAULT_FROM, env);
  if (!addressIn(from)) throw new ConfigError(`SMTP_FROM=${from} holds no address (e.g. ${DEFAULT_FROM})`);
  const to = envString('NOTIFY_EMAIL_TO', DEFAULT_TO, env);
  // Tried on an id with characters an address cannot hold as they are, so the pattern is known to work for any.
  if (!isAddress(recipientFor(to, 'CUST:001.x')) || to.indexOf(CUSTOMER_ID_PLACEHOLDER) > to.lastIndexOf('@')) {
    throw new ConfigError(
      `NOTIFY_EMAIL_TO=${to} does not make an address, with ${CUSTOMER_ID_PLACEHOLDER} before the @ (e.g. ${DEFAULT_TO})`,
    );
  }
  return { delivery, email: { smtpUrl, from, to, sendTimeoutMs, connections: concurrency } };
}

/** A URL fit for logs: its password replaced. */
export function redactUrl(url: string): string {
  if (!URL.canParse(url)) return '<not a URL>';
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.href;
}
