import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadNatsAuth, loadServiceConfig } from './config.js';

describe('NATS credentials', () => {
  it('are none when nothing is set', () => {
    expect(loadNatsAuth({})).toBeUndefined();
    expect(loadServiceConfig('order', {}).natsAuth).toBeUndefined();
  });

  it('come from NATS_USER and NATS_PASSWORD together', () => {
    expect(loadServiceConfig('saga', { NATS_USER: 'saga', NATS_PASSWORD: 's3cret' }).natsAuth).toEqual({
      user: 'saga',
      password: 's3cret',
    });
    expect(() => loadNatsAuth({ NATS_USER: 'saga' })).toThrow(ConfigError);
    expect(() => loadNatsAuth({ NATS_PASSWORD: 's3cret' })).toThrow(ConfigError);
  });

  it('come from a readable NATS_CREDS file, and not beside a user', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sf-creds-')), 'order.creds');
    expect(() => loadNatsAuth({ NATS_CREDS: file })).toThrow(/NATS_CREDS=.* is not a readable file/);
    fs.writeFileSync(file, '-----BEGIN NATS USER JWT-----\n…\n------END NATS USER JWT------\n');
    expect(loadNatsAuth({ NATS_CREDS: file })).toEqual({ credsFile: file });
    expect(() => loadNatsAuth({ NATS_CREDS: file, NATS_USER: 'order', NATS_PASSWORD: 'x' })).toThrow(ConfigError);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});
