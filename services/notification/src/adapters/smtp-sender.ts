import { createTransport } from 'nodemailer';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import type { Logger } from '@shopflow/platform/logger';
import type { SendOutcome } from '../domain/delivery.js';
import { emailFor } from '../domain/email.js';
import type { NotificationSender } from '../domain/ports.js';
import type { EmailSettings } from '../settings.js';

/** The email sender, and how to close its connections once the service has stopped. */
export interface SmtpSender extends NotificationSender {
  close(): void;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/**
 * nodemailer's options for `SMTP_URL`: the URL's own (host, port, login, `?requireTLS=…`), then
 * the service's, which the URL cannot override. Closed by default: `smtp://` to anything but
 * loopback must upgrade with STARTTLS (unless the URL says `requireTLS=false`), so that the login
 * and the customer's mail never cross a network in clear; certificates are always verified.
 */
export function transportOptions(settings: EmailSettings) {
  const url = parseConnectionUrl(settings.smtpUrl);
  return {
    ...url,
    requireTLS: url.secure !== true && (typeof url.requireTLS === 'boolean' ? url.requireTLS : !LOOPBACK.has(url.host ?? '')),
    pool: true as const,
    maxConnections: settings.connections,
    // nodemailer's pool may queue a message again by itself when its connection closes; retries
    // are the sender loop's alone, durable and counted.
    maxRequeues: 0,
    connectionTimeout: settings.sendTimeoutMs,
    greetingTimeout: settings.sendTimeoutMs,
    socketTimeout: settings.sendTimeoutMs,
  };
}

/** Sends each notification as one email through the SMTP server of `SMTP_URL`, over a small pool of connections. */
export function createSmtpSender(settings: EmailSettings, logger: Logger): SmtpSender {
  const transport = createTransport(transportOptions(settings));
  return {
    repeatable: false,
    async send(n) {
      const email = emailFor(n, settings);
      try {
        const info = await transport.sendMail({
          ...email,
          // A bound on the whole send, since a server trickling its replies never trips the socket timeout.
          signal: AbortSignal.timeout(settings.sendTimeoutMs),
        });
        logger.info(
          {
            notification_id: n.id,
            order_id: n.orderId,
            customer_id: n.customerId,
            channel: n.channel,
            kind: n.kind,
            via: 'smtp',
            message_id: email.messageId,
            response: info.response,
          },
          'notification sent',
        );
        return { kind: 'sent' };
      } catch (error) {
        return smtpOutcome(error);
      }
    },
    close: () => transport.close(),
  };
}

// Failures that happen before a message can have been handed over: no connection, no TLS, no login, a bad envelope.
const BEFORE_THE_MESSAGE = new Set([
  'EDNS',
  'ETLS',
  'EREQUIRETLS',
  'EAUTH',
  'ENOAUTH',
  'EOAUTH2',
  'ECONFIG',
  'EENVELOPE',
  'EMAXLIMIT',
]);
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const SETUP_TIMEOUTS = new Set(['CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT']);

/**
 * Reads a nodemailer failure. It is a refusal, safe to retry, only when it proves the server did
 * not take the message: an SMTP 4xx/5xx reply, or a failure before any message was under way.
 * Anything else (a connection lost or timed out mid-session, an abort) may have come after the
 * server took the message, so it is `unknown` and the notification is not sent again.
 */
export function smtpOutcome(error: unknown): SendOutcome {
  const e = (error ?? {}) as {
    code?: unknown;
    responseCode?: unknown;
    originalCode?: unknown;
    timeoutType?: unknown;
    message?: unknown;
  };
  const reason = typeof e.message === 'string' ? e.message : String(error);
  if (typeof e.responseCode === 'number' && e.responseCode >= 400 && e.responseCode < 600) {
    // A 5xx to the sender, a recipient or the message itself will not change on a retry; one to
    // the login (a wrong password) might, once an operator fixes it.
    const permanent = e.responseCode >= 500 && (e.code === 'EENVELOPE' || e.code === 'EMESSAGE');
    return { kind: 'refused', permanent, reason };
  }
  if (
    (typeof e.code === 'string' && BEFORE_THE_MESSAGE.has(e.code)) ||
    (typeof e.originalCode === 'string' && NEVER_CONNECTED.has(e.originalCode)) ||
    (e.code === 'ETIMEDOUT' && typeof e.timeoutType === 'string' && SETUP_TIMEOUTS.has(e.timeoutType))
  ) {
    return { kind: 'refused', permanent: false, reason };
  }
  return { kind: 'unknown', reason };
}
