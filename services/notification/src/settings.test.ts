import { describe, expect, it } from 'vitest';
import { loadNotificationSettings, redactUrl } from './settings.js';

describe('notification settings', () => {
  it('writes to the log without SMTP_URL, with the default delivery rules', () => {
    expect(loadNotificationSettings({})).toEqual({
      email: undefined,
      delivery: {
        policy: { maxAttempts: 8, backoff: { baseMs: 1000, maxMs: 300_000 }, leaseMs: 20_000 },
        concurrency: 4,
        sweepMs: 30_000,
      },
    });
  });

  it('sends email with SMTP_URL, from the default sender to the default pattern', () => {
    expect(loadNotificationSettings({ SMTP_URL: 'smtps://user:pw@mail.example.com' }).email).toEqual({
      smtpUrl: 'smtps://user:pw@mail.example.com',
      from: 'Shopflow <orders@shopflow.local>',
      to: '{customer_id}@customers.example',
      sendTimeoutMs: 10_000,
      connections: 4,
    });
  });

  it('takes every setting from the environment', () => {
    const s = loadNotificationSettings({
      SMTP_URL: 'smtp://127.0.0.1:2525',
      SMTP_FROM: 'shop@example.com',
      NOTIFY_EMAIL_TO: 'orders+{customer_id}@example.com',
      NOTIFY_SEND_TIMEOUT_MS: '500',
      NOTIFY_CONCURRENCY: '2',
      NOTIFY_MAX_ATTEMPTS: '3',
      NOTIFY_RETRY_BASE_MS: '10',
      NOTIFY_RETRY_MAX_MS: '40',
      NOTIFY_SWEEP_MS: '1000',
    });
    expect(s).toEqual({
      email: {
        smtpUrl: 'smtp://127.0.0.1:2525',
        from: 'shop@example.com',
        to: 'orders+{customer_id}@example.com',
        sendTimeoutMs: 500,
        connections: 2,
      },
      delivery: { policy: { maxAttempts: 3, backoff: { baseMs: 10, maxMs: 40 }, leaseMs: 1000 }, concurrency: 2, sweepMs: 1000 },
    });
  });

  it('refuses a malformed setting at start-up, naming it and never showing a password', () => {
    const bad = (env: Record<string, string>) => () => loadNotificationSettings(env);
    expect(bad({ SMTP_URL: 'http://mail.example.com' })).toThrow(/^SMTP_URL=http:\/\/mail\.example\.com\/? is not/);
    expect(bad({ SMTP_URL: 'smtp://user:secret@' })).toThrow(/^SMTP_URL=<not a URL> is not/);
    expect(bad({ SMTP_URL: 'smtps://user:secret@exa mple' })).toThrow(/^SMTP_URL=<not a URL> is not/);
    expect(bad({ SMTP_URL: 'smtp://h', SMTP_FROM: 'Shopflow' })).toThrow(/^SMTP_FROM=Shopflow holds no address/);
    expect(bad({ SMTP_URL: 'smtp://h', NOTIFY_EMAIL_TO: '{customer_id}' })).toThrow(/^NOTIFY_EMAIL_TO/);
    expect(bad({ SMTP_URL: 'smtp://h', NOTIFY_EMAIL_TO: 'x@{customer_id}.example' })).toThrow(/^NOTIFY_EMAIL_TO/);
    expect(bad({ NOTIFY_MAX_ATTEMPTS: '0' })).toThrow(/^NOTIFY_MAX_ATTEMPTS=0/);
    expect(bad({ NOTIFY_RETRY_BASE_MS: '100', NOTIFY_RETRY_MAX_MS: '10' })).toThrow(/^NOTIFY_RETRY_MAX_MS=10/);
  });

  it('redacts the password of a URL for the logs', () => {
    expect(redactUrl('smtps://user:secret@mail.example.com:465')).toBe('smtps://user:***@mail.example.com:465');
    expect(redactUrl('smtp://127.0.0.1:2525')).toBe('smtp://127.0.0.1:2525');
  });
});
