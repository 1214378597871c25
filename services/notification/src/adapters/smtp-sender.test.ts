import { describe, expect, it } from 'vitest';
import { smtpOutcome, transportOptions } from './smtp-sender.js';

/** An error shaped as nodemailer reports one. */
const failure = (message: string, fields: Record<string, unknown>) => Object.assign(new Error(message), fields);

describe('smtpOutcome', () => {
  it('retries what the server refused with a 4xx reply, wherever it came', () => {
    expect(
      smtpOutcome(failure('Message failed: 451 try later', { code: 'EMESSAGE', responseCode: 451, command: 'DATA' })),
    ).toEqual({
      kind: 'refused',
      permanent: false,
      reason: 'Message failed: 451 try later',
    });
    expect(smtpOutcome(failure('421 closing', { code: 'ECONNECTION', responseCode: 421, command: 'CONN' }))).toMatchObject({
      kind: 'refused',
      permanent: false,
    });
  });

  it('gives up at once on a 5xx to the envelope or the message, but retries a 5xx login', () => {
    expect(smtpOutcome(failure('550 no such user', { code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO' }))).toMatchObject({
      kind: 'refused',
      permanent: true,
    });
    expect(smtpOutcome(failure('554 rejected', { code: 'EMESSAGE', responseCode: 554, command: 'DATA' }))).toMatchObject({
      permanent: true,
    });
    expect(smtpOutcome(failure('Invalid login: 535', { code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN' }))).toMatchObject(
      {
        kind: 'refused',
        permanent: false,
      },
    );
  });

  it('retries a failure before any message was under way', () => {
    for (const e of [
      failure('connect ECONNREFUSED 127.0.0.1:25', { code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' }),
      failure('getaddrinfo ENOTFOUND mail', { code: 'EDNS', command: 'CONN' }),
      failure('Connection timeout', { code: 'ETIMEDOUT', timeoutType: 'CONNECT_TIMEOUT', command: 'CONN' }),
      failure('Greeting never received', { code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT', command: 'CONN' }),
      failure('Missing credentials', { code: 'EAUTH', command: 'API' }),
    ]) {
      expect(smtpOutcome(e)).toMatchObject({ kind: 'refused', permanent: false });
    }
  });

  it('calls anything that may have come after the server took the message unknown', () => {
    for (const e of [
      failure('Connection closed unexpectedly', { code: 'ECONNECTION', command: 'CONN' }),
      failure('Timeout', { code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', command: 'CONN' }),
      failure('read ECONNRESET', { code: 'ESOCKET', originalCode: 'ECONNRESET', command: 'CONN' }),
      failure('Reached maximum number of retries after connection was closed', { code: 'ECONNECTION' }),
      failure('This operation was aborted', { code: 'EABORT' }),
      new TypeError('something else'),
      'a string',
    ]) {
      expect(smtpOutcome(e).kind).toBe('unknown');
    }
  });
});

describe('transportOptions', () => {
  const settings = (smtpUrl: string) => ({
    smtpUrl,
    from: 'a@b.example',
    to: 'c@d.example',
    sendTimeoutMs: 5000,
    connections: 2,
  });

  it("takes the URL's server and login, and keeps retries and timeouts to itself", () => {
    expect(transportOptions(settings('smtp://u:p@mail.example.com:587?pool=false&maxRequeues=5&socketTimeout=1'))).toEqual({
      secure: false,
      host: 'mail.example.com',
      port: 587,
      auth: { user: 'u', pass: 'p' },
      requireTLS: true,
      pool: true,
      maxConnections: 2,
      maxRequeues: 0,
      connectionTimeout: 5000,
      greetingTimeout: 5000,
      socketTimeout: 5000,
    });
  });

  it('requires STARTTLS beyond loopback unless the URL says otherwise; smtps is TLS from the start', () => {
    expect(transportOptions(settings('smtp://127.0.0.1:2525')).requireTLS).toBe(false);
    expect(transportOptions(settings('smtp://localhost:2525')).requireTLS).toBe(false);
    expect(transportOptions(settings('smtp://relay.internal:25')).requireTLS).toBe(true);
    expect(transportOptions(settings('smtp://relay.internal:25?requireTLS=false')).requireTLS).toBe(false);
    expect(transportOptions(settings('smtps://mail.example.com'))).toMatchObject({ secure: true, requireTLS: false });
  });
});
